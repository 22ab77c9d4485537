//! How the shop's receipt printer is reached and what it can do: the `printer*` / `drawer*` /
//! `auto_print` settings, parsed and checked in one place (the CLI, the settings screen and the
//! print queue all read them from here).

use std::path::PathBuf;

/// Where jobs go.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Connection {
    /// No receipt printer (receipts are shown, saved as PDF or printed through the system dialog).
    #[default]
    None,
    /// Raw ESC/POS over TCP (port 9100 on Epson, Star and most LAN printers).
    Network { host: String, port: u16 },
    /// Raw ESC/POS written to a device file (`/dev/usb/lp0` on Linux; see docs/printing.md).
    Device { path: PathBuf },
    /// The system print dialog (the app prints its HTML receipt; nothing goes through the queue).
    System,
}

/// The roll's width: what fits on a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PaperWidth {
    #[default]
    Mm80,
    Mm58,
}

impl PaperWidth {
    /// Half-width characters per line in font A (12 × 24 dots).
    pub fn columns(self) -> usize {
        match self {
            PaperWidth::Mm80 => 48,
            PaperWidth::Mm58 => 32,
        }
    }

    /// Printable dots per line at 203 dpi (8 dots / mm).
    pub fn dots(self) -> usize {
        match self {
            PaperWidth::Mm80 => 576,
            PaperWidth::Mm58 => 384,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaperWidth::Mm80 => "80",
            PaperWidth::Mm58 => "58",
        }
    }
}

/// How Japanese reaches the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PrintMode {
    /// Shift-JIS text in kanji mode: printers with kanji fonts (Epson "J" models). Fast, small jobs.
    #[default]
    Text,
    /// The receipt drawn as a 1-bit image: any ESC/POS printer, whatever fonts it has.
    Raster,
}

impl PrintMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PrintMode::Text => "text",
            PrintMode::Raster => "raster",
        }
    }
}

/// Whether a paid sale's receipt prints by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AutoPrint {
    #[default]
    Always,
    /// The app asks "print a receipt?" after each sale.
    Ask,
    Never,
}

impl AutoPrint {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoPrint::Always => "always",
            AutoPrint::Ask => "ask",
            AutoPrint::Never => "never",
        }
    }
}

/// The pulse that opens a drawer on the printer's DK port (`ESC p m t1 t2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrawerPulse {
    /// Connector pin 2 or 5.
    pub pin: u8,
    /// How long the pulse is on, in ms (2–510, even; Epson's drawers want 50–200 ms).
    pub on_ms: u16,
}

impl DrawerPulse {
    /// ESC p's t1 and t2 in units of 2 ms; off is at least as long as on (Epson's rule) and 500 ms
    /// at least, so that a drawer's solenoid cools between two kicks.
    pub fn units(self) -> (u8, u8) {
        let on = (self.on_ms / 2).clamp(1, 255) as u8;
        (on, on.max(250))
    }
}

/// The printer settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterConfig {
    pub connection: Connection,
    pub paper: PaperWidth,
    pub mode: PrintMode,
    pub auto_print: AutoPrint,
    /// A drawer on the printer's DK port (none: the drawer is opened by hand or has no kick).
    pub drawer: Option<DrawerPulse>,
    /// Ask the printer for its paper status before and after a job (printers and LAN adapters that
    /// never answer need this off).
    pub status_check: bool,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            connection: Connection::None,
            paper: PaperWidth::Mm80,
            mode: PrintMode::Text,
            auto_print: AutoPrint::Always,
            drawer: None,
            status_check: true,
        }
    }
}

/// The settings keys this module owns (stored like every other setting).
pub const KEYS: [&str; 10] = [
    "printer",
    "printer_host",
    "printer_port",
    "printer_device",
    "printer_paper",
    "printer_mode",
    "printer_status",
    "auto_print",
    "drawer",
    "drawer_pulse_ms",
];

/// The settings as text, one key at a time; [`PrinterConfig::from_settings`] turns them into a
/// config and checks that they fit together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrinterSettings {
    pub printer: String,
    pub host: String,
    pub port: String,
    pub device: String,
    pub paper: String,
    pub mode: String,
    pub status: String,
    pub auto_print: String,
    pub drawer: String,
    pub drawer_pulse_ms: String,
}

/// A setting refused: which key, and why (in plain words for the staff).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingProblem {
    pub key: &'static str,
    pub message: String,
}

impl PrinterSettings {
    /// Stores one key's text after checking it alone.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SettingProblem> {
        let v = value.trim().to_string();
        let slot = match key {
            "printer" => {
                one_of(
                    "printer",
                    &v,
                    &["", "none", "network", "usb", "device", "system"],
                )?;
                &mut self.printer
            }
            "printer_host" => {
                if v.len() > 253
                    || v.chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "/?#@".contains(c))
                {
                    return Err(problem(
                        "printer_host",
                        "a printer's address is an IP address or host name, like 192.168.1.50",
                    ));
                }
                &mut self.host
            }
            "printer_port" => {
                if !v.is_empty() && v.parse::<u16>().map_or(true, |p| p == 0) {
                    return Err(problem(
                        "printer_port",
                        "a port is a number from 1 to 65535 (receipt printers use 9100)",
                    ));
                }
                &mut self.port
            }
            "printer_device" => {
                if v.chars().any(char::is_control) {
                    return Err(problem(
                        "printer_device",
                        "a device is a path like /dev/usb/lp0",
                    ));
                }
                &mut self.device
            }
            "printer_paper" => {
                one_of("printer_paper", &v, &["", "80", "58"])?;
                &mut self.paper
            }
            "printer_mode" => {
                one_of("printer_mode", &v, &["", "text", "raster"])?;
                &mut self.mode
            }
            "printer_status" => {
                one_of("printer_status", &v, &["", "on", "off"])?;
                &mut self.status
            }
            "auto_print" => {
                one_of("auto_print", &v, &["", "always", "ask", "never"])?;
                &mut self.auto_print
            }
            "drawer" => {
                one_of("drawer", &v, &["", "none", "pin2", "pin5"])?;
                &mut self.drawer
            }
            "drawer_pulse_ms" => {
                if !v.is_empty() && v.parse::<u16>().map_or(true, |n| !(2..=510).contains(&n)) {
                    return Err(problem(
                        "drawer_pulse_ms",
                        "the pulse is 2 to 510 ms (most drawers want 100)",
                    ));
                }
                &mut self.drawer_pulse_ms
            }
            _ => {
                return Err(SettingProblem {
                    key: "printer",
                    message: format!("{key} is not a printer setting"),
                })
            }
        };
        *slot = v;
        Ok(())
    }

    /// One key's text as stored (`None`: not a printer setting).
    pub fn get(&self, key: &str) -> Option<String> {
        Some(
            match key {
                "printer" => &self.printer,
                "printer_host" => &self.host,
                "printer_port" => &self.port,
                "printer_device" => &self.device,
                "printer_paper" => &self.paper,
                "printer_mode" => &self.mode,
                "printer_status" => &self.status,
                "auto_print" => &self.auto_print,
                "drawer" => &self.drawer,
                "drawer_pulse_ms" => &self.drawer_pulse_ms,
                _ => return None,
            }
            .clone(),
        )
    }

    /// The config these settings describe, or the first setting that is missing for it.
    pub fn config(&self) -> Result<PrinterConfig, SettingProblem> {
        let connection = match self.printer.as_str() {
            "" | "none" => Connection::None,
            "system" => Connection::System,
            "network" => {
                if self.host.is_empty() {
                    return Err(problem(
                        "printer_host",
                        "a network printer needs its address (its IP address, like 192.168.1.50)",
                    ));
                }
                Connection::Network {
                    host: self.host.clone(),
                    port: if self.port.is_empty() {
                        9100
                    } else {
                        self.port.parse().unwrap_or(9100)
                    },
                }
            }
            _ => {
                if self.device.is_empty() {
                    return Err(problem(
                        "printer_device",
                        "a USB printer needs its device (like /dev/usb/lp0 on Linux)",
                    ));
                }
                Connection::Device {
                    path: PathBuf::from(&self.device),
                }
            }
        };
        let pulse = if self.drawer_pulse_ms.is_empty() {
            100
        } else {
            self.drawer_pulse_ms.parse().unwrap_or(100)
        };
        Ok(PrinterConfig {
            connection,
            paper: if self.paper == "58" {
                PaperWidth::Mm58
            } else {
                PaperWidth::Mm80
            },
            mode: if self.mode == "raster" {
                PrintMode::Raster
            } else {
                PrintMode::Text
            },
            auto_print: match self.auto_print.as_str() {
                "ask" => AutoPrint::Ask,
                "never" => AutoPrint::Never,
                _ => AutoPrint::Always,
            },
            drawer: match self.drawer.as_str() {
                "pin2" => Some(DrawerPulse {
                    pin: 2,
                    on_ms: pulse,
                }),
                "pin5" => Some(DrawerPulse {
                    pin: 5,
                    on_ms: pulse,
                }),
                _ => None,
            },
            status_check: self.status != "off",
        })
    }
}

fn problem(key: &'static str, message: &str) -> SettingProblem {
    SettingProblem {
        key,
        message: message.into(),
    }
}

fn one_of(key: &'static str, v: &str, allowed: &[&str]) -> Result<(), SettingProblem> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().copied().filter(|a| !a.is_empty()).collect();
        Err(SettingProblem {
            key,
            message: format!("{v:?} must be one of {}", names.join(", ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_printer_needs_its_address_and_defaults_to_9100() {
        let mut s = PrinterSettings::default();
        s.set("printer", "network").unwrap();
        assert_eq!(s.config().unwrap_err().key, "printer_host");
        s.set("printer_host", "192.168.1.50").unwrap();
        assert_eq!(
            s.config().unwrap().connection,
            Connection::Network {
                host: "192.168.1.50".into(),
                port: 9100
            }
        );
        assert_eq!(s.set("printer_port", "0").unwrap_err().key, "printer_port");
        assert_eq!(
            s.set("printer_port", "http").unwrap_err().key,
            "printer_port"
        );
        assert_eq!(
            s.set("printer_host", "http://printer/").unwrap_err().key,
            "printer_host"
        );
    }

    #[test]
    fn drawer_pulse_in_units_of_two_ms() {
        let mut s = PrinterSettings::default();
        s.set("drawer", "pin5").unwrap();
        s.set("drawer_pulse_ms", "50").unwrap();
        let d = s.config().unwrap().drawer.unwrap();
        assert_eq!((d.pin, d.units()), (5, (25, 250)));
        assert!(s.set("drawer_pulse_ms", "1000").is_err());
        assert!(s.set("drawer", "pin3").is_err());
        assert_eq!(PrinterSettings::default().config().unwrap().drawer, None);
    }
}
