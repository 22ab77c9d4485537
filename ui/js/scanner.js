// A USB barcode scanner types like a keyboard: a burst of digits, far faster than a person, then
// Enter. This module tells the two apart wherever the focus is on the register screen, takes the
// burst back out of the input it landed in, and hands the code over.

/** Digits a code has at least (JAN-8 / EAN-8 and longer; a person typing "123" is never a scan). */
export const MIN_DIGITS = 6;
/** The longest pause between two keys of one burst (one hiccup of the machine is tolerated). */
export const MAX_GAP_MS = 100;
/**
 * The slowest average pace of a scan, per key: a scanner sends one every few ms; no person keeps
 * 35 ms a key over six digits or more (that is nearly 30 keys a second).
 */
export const MAX_AVERAGE_MS = 35;

/**
 * Listens on the whole document (capture phase, before any input's own handler).
 * `active()`: whether scans are taken now (the register screen, no dialog in the way).
 * `onScan(code)`: called once per scan.
 */
export function installScanner({ active, onScan }) {
  let digits = [];
  let first = 0;
  let last = 0;
  let snapshot = null;

  const typable = (el) =>
    el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(el.type)));

  document.addEventListener("keydown", (e) => {
    if (!active()) {
      digits = [];
      return;
    }
    const now = performance.now();
    const plain = !e.ctrlKey && !e.altKey && !e.metaKey;
    if (plain && /^[0-9]$/.test(e.key)) {
      if (digits.length === 0 || now - last > MAX_GAP_MS) {
        // A new burst may start here: remember the focused input as it is before this key lands.
        digits = [];
        first = now;
        const el = document.activeElement;
        snapshot = typable(el) ? { el, value: el.value, start: el.selectionStart, end: el.selectionEnd } : null;
      }
      digits.push(e.key);
      last = now;
      return;
    }
    // Enter ends a scan ("\n" / "\r": what some scanners and WebDriver's send-keys deliver as its key).
    const enter = e.key === "Enter" || e.key === "\n" || e.key === "\r";
    const pace = digits.length > 1 ? (last - first) / (digits.length - 1) : Infinity;
    if (enter && digits.length >= MIN_DIGITS && pace <= MAX_AVERAGE_MS && now - last <= MAX_GAP_MS * 2) {
      e.preventDefault();
      e.stopImmediatePropagation();
      const code = digits.join("");
      digits = [];
      if (snapshot && snapshot.el.isConnected) {
        const { el, value, start, end } = snapshot;
        el.value = value;
        try {
          el.setSelectionRange(start, end);
        } catch {
          // Not every input type has a selection.
        }
        el.dispatchEvent(new Event("input", { bubbles: true }));
      }
      snapshot = null;
      onScan(code);
      return;
    }
    if (e.key !== "Shift") digits = [];
  }, true);
}
