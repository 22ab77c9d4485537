//! Bank account holder names: Japanese banks use half-width katakana (半角カナ). Cashiers type
//! full-width (or hiragana); this converts and validates.

/// Converts hiragana / full-width katakana, full-width ASCII and ideographic spaces to the half-width
/// forms banks use. Returns an error naming the first character that has no half-width form.
pub fn to_bank_kana(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.trim().chars() {
        let c = hira_to_kata(c);
        if let Some(h) = kata_to_half(c) {
            out.push_str(h);
            continue;
        }
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        let ok = c == ' '
            || c.is_ascii_digit()
            || c.is_ascii_uppercase()
            || matches!(c, '(' | ')' | '.' | '-' | '/' | ',')
            || ('\u{FF61}'..='\u{FF9F}').contains(&c);
        if c.is_ascii_lowercase() {
            out.push(c.to_ascii_uppercase());
        } else if ok {
            out.push(c);
        } else {
            return Err(format!(
                "{c:?} cannot be written in half-width katakana (半角カナ) for a bank"
            ));
        }
    }
    if out.trim().is_empty() {
        return Err("the account holder name is empty".into());
    }
    Ok(out)
}

fn hira_to_kata(c: char) -> char {
    match c {
        '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => c,
    }
}

fn kata_to_half(c: char) -> Option<&'static str> {
    KANA.iter().find(|(k, _)| *k == c).map(|(_, h)| *h)
}

/// The full-width katakana a half-width one (or a half-width one and its voiced mark, `ｶﾞ`)
/// stands for: the inverse of the bank form, for search.
pub fn half_to_full(half: &str) -> Option<char> {
    const RARE: [char; 5] = ['ヮ', 'ヰ', 'ヱ', 'ヵ', 'ヶ'];
    KANA.iter()
        .find(|(k, h)| *h == half && !RARE.contains(k))
        .map(|(k, _)| *k)
}

const KANA: &[(char, &str)] = {
    const BASE: &[(char, &str)] = &[
        ('ァ', "ｧ"),
        ('ア', "ｱ"),
        ('ィ', "ｨ"),
        ('イ', "ｲ"),
        ('ゥ', "ｩ"),
        ('ウ', "ｳ"),
        ('ェ', "ｪ"),
        ('エ', "ｴ"),
        ('ォ', "ｫ"),
        ('オ', "ｵ"),
        ('カ', "ｶ"),
        ('ガ', "ｶﾞ"),
        ('キ', "ｷ"),
        ('ギ', "ｷﾞ"),
        ('ク', "ｸ"),
        ('グ', "ｸﾞ"),
        ('ケ', "ｹ"),
        ('ゲ', "ｹﾞ"),
        ('コ', "ｺ"),
        ('ゴ', "ｺﾞ"),
        ('サ', "ｻ"),
        ('ザ', "ｻﾞ"),
        ('シ', "ｼ"),
        ('ジ', "ｼﾞ"),
        ('ス', "ｽ"),
        ('ズ', "ｽﾞ"),
        ('セ', "ｾ"),
        ('ゼ', "ｾﾞ"),
        ('ソ', "ｿ"),
        ('ゾ', "ｿﾞ"),
        ('タ', "ﾀ"),
        ('ダ', "ﾀﾞ"),
        ('チ', "ﾁ"),
        ('ヂ', "ﾁﾞ"),
        ('ッ', "ｯ"),
        ('ツ', "ﾂ"),
        ('ヅ', "ﾂﾞ"),
        ('テ', "ﾃ"),
        ('デ', "ﾃﾞ"),
        ('ト', "ﾄ"),
        ('ド', "ﾄﾞ"),
        ('ナ', "ﾅ"),
        ('ニ', "ﾆ"),
        ('ヌ', "ﾇ"),
        ('ネ', "ﾈ"),
        ('ノ', "ﾉ"),
        ('ハ', "ﾊ"),
        ('バ', "ﾊﾞ"),
        ('パ', "ﾊﾟ"),
        ('ヒ', "ﾋ"),
        ('ビ', "ﾋﾞ"),
        ('ピ', "ﾋﾟ"),
        ('フ', "ﾌ"),
        ('ブ', "ﾌﾞ"),
        ('プ', "ﾌﾟ"),
        ('ヘ', "ﾍ"),
        ('ベ', "ﾍﾞ"),
        ('ペ', "ﾍﾟ"),
        ('ホ', "ﾎ"),
        ('ボ', "ﾎﾞ"),
        ('ポ', "ﾎﾟ"),
        ('マ', "ﾏ"),
        ('ミ', "ﾐ"),
        ('ム', "ﾑ"),
        ('メ', "ﾒ"),
        ('モ', "ﾓ"),
        ('ャ', "ｬ"),
        ('ヤ', "ﾔ"),
        ('ュ', "ｭ"),
        ('ユ', "ﾕ"),
        ('ョ', "ｮ"),
        ('ヨ', "ﾖ"),
        ('ラ', "ﾗ"),
        ('リ', "ﾘ"),
        ('ル', "ﾙ"),
        ('レ', "ﾚ"),
        ('ロ', "ﾛ"),
        ('ヮ', "ﾜ"),
        ('ワ', "ﾜ"),
        ('ヰ', "ｲ"),
        ('ヱ', "ｴ"),
        ('ヲ', "ｦ"),
        ('ン', "ﾝ"),
        ('ヴ', "ｳﾞ"),
        ('ヵ', "ｶ"),
        ('ヶ', "ｹ"),
        ('ー', "ｰ"),
        ('・', "･"),
        ('゛', "ﾞ"),
        ('゜', "ﾟ"),
        ('「', "｢"),
        ('」', "｣"),
        ('。', "｡"),
        ('、', "､"),
    ];
    BASE
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_full_width_and_hiragana() {
        assert_eq!(to_bank_kana("ヤマダ　タロウ").unwrap(), "ﾔﾏﾀﾞ ﾀﾛｳ");
        assert_eq!(to_bank_kana("やまだ たろう").unwrap(), "ﾔﾏﾀﾞ ﾀﾛｳ");
        assert_eq!(to_bank_kana("ﾔﾏﾀﾞ ﾀﾛｳ").unwrap(), "ﾔﾏﾀﾞ ﾀﾛｳ");
        assert_eq!(to_bank_kana("カ）ピカピカ").unwrap(), "ｶ)ﾋﾟｶﾋﾟｶ");
        assert_eq!(to_bank_kana("ｶﾌﾞｼｷｶﾞｲｼｬ ABC").unwrap(), "ｶﾌﾞｼｷｶﾞｲｼｬ ABC");
    }

    #[test]
    fn kanji_is_refused_with_the_character() {
        let e = to_bank_kana("山田").unwrap_err();
        assert!(e.contains('山'), "{e}");
        assert!(to_bank_kana("  ").is_err());
    }
}
