/**
 * XML escaping for the REFI-QDA writer, which writes project.qde as text
 * (tested in tests/export-refiqda.test.ts).
 *
 * Why not an XML builder: xmlbuilder2 (4.0.3, checked) writes a tab, line
 * feed or carriage return in an attribute value as it is, which every XML
 * reader turns into a space (attribute-value normalisation), and a carriage
 * return in text as it is, which readers turn into a line feed; so a project
 * name, a code's name or a note would not read back as written (the escaping
 * table in the test fails). Its streaming writer (createCB) does the same,
 * neither offers a way to write those as character references, and escaping
 * them first is not possible (the builder would escape the `&`).
 *
 * Characters XML 1.0 cannot carry at all (C0 controls other than tab, LF, CR;
 * U+FFFE/U+FFFF; lone surrogates) are replaced with U+FFFD: a form feed from a
 * PDF in a note must not make the whole project unreadable.
 */

/** Everything outside XML 1.0's `Char` production. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escape text content: `&`, `<`, `>`; CR as `&#13;` so parsers do not turn it into LF. */
export function xmlText(s: string): string {
  return s.replace(NOT_XML_CHAR, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

/** Escape an attribute value (for `"…"`): also `"`, and tab/LF/CR as references so attribute normalisation keeps them. */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/** Replace characters XML 1.0 cannot carry with U+FFFD (for libraries that escape but do not sanitise). */
export function xmlSafe(s: string): string {
  return s.replace(NOT_XML_CHAR, '\uFFFD');
}
