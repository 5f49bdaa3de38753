/**
 * A small, strict XML reader for the few response shapes of S3 (listings, errors, multipart,
 * versioning, CORS). `DOMParser` is missing in Node and in workers, and a general XML library
 * would weigh more than the signer; S3 answers are plain elements with text, so this reads
 * elements, attributes (skipped), text, the five named entities, character references, CDATA,
 * comments and the XML declaration, and throws on anything malformed (unclosed or mismatched
 * tags, stray `<` or `&`, trailing content). No DTDs: a `<!DOCTYPE` is refused, so no entity
 * expansion can be smuggled in.
 *
 * @module
 */

/** One element: its local name (namespace prefix dropped), child elements and text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  /** The element's own text (character data directly inside it), entities decoded. */
  text: string;
}

/** Malformed XML. */
export class XmlSyntaxError extends Error {
  constructor(message: string, position: number) {
    super(`${message} at offset ${position}`);
    this.name = 'XmlSyntaxError';
  }
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const NAME = /[A-Za-z_:][-A-Za-z0-9_.:]*/y;
const SPACE = /[ \t\r\n]*/y;

function decode(raw: string, at: number): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;]*);?/g, (whole, ref: string, offset: number) => {
    if (!whole.endsWith(';')) throw new XmlSyntaxError('unterminated entity', at + offset);
    if (ref in NAMED) return NAMED[ref]!;
    const code = /^#x[0-9a-fA-F]+$/.test(ref)
      ? Number.parseInt(ref.slice(2), 16)
      : /^#[0-9]+$/.test(ref)
        ? Number.parseInt(ref.slice(1), 10)
        : Number.NaN;
    if (!(code >= 0 && code <= 0x10ffff)) throw new XmlSyntaxError(`unknown entity &${ref};`, at + offset);
    return String.fromCodePoint(code);
  });
}

/**
 * Parses a whole document and returns its root element.
 *
 * @throws {@link XmlSyntaxError} when the text is not well-formed XML (of the subset read).
 */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const skipSpace = () => {
    SPACE.lastIndex = i;
    SPACE.exec(xml);
    i = SPACE.lastIndex;
  };
  const readName = (): string => {
    NAME.lastIndex = i;
    const match = NAME.exec(xml);
    if (!match) throw new XmlSyntaxError('expected a name', i);
    i = NAME.lastIndex;
    return match[0];
  };
  const localName = (name: string) => name.slice(name.indexOf(':') + 1);
  const expect = (token: string) => {
    if (!xml.startsWith(token, i)) throw new XmlSyntaxError(`expected "${token}"`, i);
    i += token.length;
  };

  if (xml.charCodeAt(0) === 0xfeff) i = 1;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const end = lt === -1 ? xml.length : lt;
    if (end > i) {
      const raw = xml.slice(i, end);
      const top = stack[stack.length - 1];
      if (top) top.text += decode(raw, i);
      else if (raw.trim()) throw new XmlSyntaxError('text outside the root element', i);
      i = end;
      continue;
    }
    if (xml.startsWith('<?', i)) {
      const close = xml.indexOf('?>', i + 2);
      if (close === -1) throw new XmlSyntaxError('unterminated processing instruction', i);
      i = close + 2;
    } else if (xml.startsWith('<!--', i)) {
      const close = xml.indexOf('-->', i + 4);
      if (close === -1) throw new XmlSyntaxError('unterminated comment', i);
      i = close + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const close = xml.indexOf(']]>', i + 9);
      const top = stack[stack.length - 1];
      if (close === -1 || !top) throw new XmlSyntaxError('bad CDATA section', i);
      top.text += xml.slice(i + 9, close);
      i = close + 3;
    } else if (xml.startsWith('<!', i)) {
      throw new XmlSyntaxError('DTDs are not accepted', i);
    } else if (xml.startsWith('</', i)) {
      i += 2;
      const name = localName(readName());
      skipSpace();
      expect('>');
      const open = stack.pop();
      if (!open || open.name !== name) throw new XmlSyntaxError(`unexpected </${name}>`, i);
    } else {
      i += 1;
      const element: XmlElement = { name: localName(readName()), children: [], text: '' };
      // Attributes: read (to find the tag's end correctly), not kept.
      for (;;) {
        const before = i;
        skipSpace();
        if (xml.startsWith('/>', i) || xml.startsWith('>', i)) break;
        if (i === before) throw new XmlSyntaxError('expected whitespace before an attribute', i);
        readName();
        skipSpace();
        expect('=');
        skipSpace();
        const quote = xml[i];
        if (quote !== '"' && quote !== "'") throw new XmlSyntaxError('expected a quoted attribute value', i);
        const close = xml.indexOf(quote, i + 1);
        if (close === -1 || xml.slice(i + 1, close).includes('<')) {
          throw new XmlSyntaxError('bad attribute value', i);
        }
        i = close + 1;
      }
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) throw new XmlSyntaxError('a second root element', i);
      else root = element;
      if (xml.startsWith('/>', i)) {
        i += 2;
      } else {
        i += 1;
        stack.push(element);
      }
    }
  }
  if (stack.length) throw new XmlSyntaxError(`unclosed <${stack[stack.length - 1]!.name}>`, i);
  if (!root) throw new XmlSyntaxError('no root element', i);
  return root;
}

/** The child elements of `element` named `name`. */
export function xmlChildren(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

/** The first child element named `name`, if any. */
export function xmlChild(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((child) => child.name === name);
}

/** The text of the first child element named `name`, if there is one. */
export function xmlText(element: XmlElement, name: string): string | undefined {
  return xmlChild(element, name)?.text;
}

/** Escapes text for an XML element's content or a double-quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}
