/**
 * An independent BagIt checker, written from RFC 8493 for the tests: it shares no code with
 * Coffer's import. It unpacks a ZIP with fflate, finds the bag's base directory, and reports
 * every way the bag is not complete (§3) or not valid (§3), as plain sentences.
 */
import { createHash } from 'node:crypto';
import { unzipSync } from 'fflate';

/** What the checker found: the bag's files (by path inside the bag) and its problems. */
export interface BagCheck {
  files: Map<string, Uint8Array>;
  problems: string[];
  info: [string, string][];
}

const ALGORITHMS: Record<string, [nodeName: string, hexLength: number]> = {
  md5: ['md5', 32],
  sha1: ['sha1', 40],
  sha256: ['sha256', 64],
  sha512: ['sha512', 128],
};

/** §2.1.3: in manifest paths, only CR, LF and % are percent-encoded. */
const decodePath = (text: string) => text.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');

/** §2: tag files are text whose lines end with LF, CR or CRLF. */
const lines = (text: string) =>
  text.split(/\r\n|\n|\r/).filter((line, i, all) => line !== '' || i < all.length - 1);

export function checkBag(zip: Uint8Array): BagCheck {
  const problems: string[] = [];
  const raw = unzipSync(zip);
  const names = Object.keys(raw).filter((name) => !name.endsWith('/'));

  // Serialized bags unpack to a single base directory holding the bag.
  const tops = new Set(names.map((name) => name.split('/')[0]));
  let base = '';
  if (!names.includes('bagit.txt')) {
    if (tops.size !== 1) problems.push('the archive does not hold exactly one base directory');
    base = `${[...tops][0]}/`;
  }
  const files = new Map<string, Uint8Array>();
  for (const name of names) {
    if (!name.startsWith(base)) problems.push(`${name} is outside the base directory`);
    else files.set(name.slice(base.length), raw[name] as Uint8Array);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const text = (path: string): string | undefined => {
    const bytes = files.get(path);
    if (!bytes) return undefined;
    try {
      return decoder.decode(bytes);
    } catch {
      problems.push(`${path} is not UTF-8`);
      return undefined;
    }
  };

  // §2.1.1: bagit.txt, exactly two lines, UTF-8 without a BOM.
  const declaration = files.get('bagit.txt');
  if (!declaration) problems.push('bagit.txt is missing');
  else {
    if (declaration[0] === 0xef && declaration[1] === 0xbb && declaration[2] === 0xbf)
      problems.push('bagit.txt starts with a BOM');
    const declared = lines(text('bagit.txt') ?? '');
    if (
      declared.length !== 2 ||
      !/^BagIt-Version: \d+\.\d+$/.test(declared[0] ?? '') ||
      declared[1] !== 'Tag-File-Character-Encoding: UTF-8'
    ) {
      problems.push('bagit.txt is not the two-line bag declaration');
    }
  }

  // §2.1.2: the payload directory.
  const payload = [...files.keys()].filter((path) => path.startsWith('data/'));
  if (payload.length === 0) problems.push('the payload directory data/ is missing or empty');

  const digest = (algorithm: string, bytes: Uint8Array) =>
    createHash((ALGORITHMS[algorithm] as [string, number])[0])
      .update(bytes)
      .digest('hex');

  const readManifest = (name: string, algorithm: string): Map<string, string> => {
    const entries = new Map<string, string>();
    for (const line of lines(text(name) ?? '')) {
      const match = /^([0-9a-fA-F]+)[ \t]+(.*)$/.exec(line);
      if (!match) {
        problems.push(`${name} has a line that is not "checksum filepath"`);
        continue;
      }
      const [, checksum, encoded] = match as unknown as [string, string, string];
      if (checksum.length !== (ALGORITHMS[algorithm] as [string, number])[1])
        problems.push(`${name} has a checksum of the wrong length`);
      const path = decodePath(encoded);
      if (
        path.startsWith('/') ||
        path.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')
      ) {
        problems.push(`${name} lists ${JSON.stringify(path)}, which is not a relative path inside the bag`);
      }
      if (entries.has(path)) problems.push(`${name} lists ${path} twice`);
      entries.set(path, checksum.toLowerCase());
    }
    return entries;
  };

  // §2.1.3: payload manifests; §3: every payload file in every manifest, every listed file present and matching.
  const manifests = [...files.keys()].filter((path) => /^manifest-[a-z0-9]+\.txt$/.test(path));
  if (manifests.length === 0) problems.push('there is no payload manifest');
  for (const name of manifests) {
    const algorithm = name.slice('manifest-'.length, -'.txt'.length);
    if (!ALGORITHMS[algorithm]) {
      problems.push(`${name}: unknown algorithm`);
      continue;
    }
    const entries = readManifest(name, algorithm);
    for (const [path, checksum] of entries) {
      if (!path.startsWith('data/')) problems.push(`${name} lists ${path}, outside the payload directory`);
      const bytes = files.get(path);
      if (!bytes) problems.push(`${name} lists ${path}, which is missing`);
      else if (digest(algorithm, bytes) !== checksum) problems.push(`${path} does not match ${name}`);
    }
    for (const path of payload) if (!entries.has(path)) problems.push(`${path} is not listed in ${name}`);
  }

  // §2.2.1: tag manifests list tag files only, and those must match.
  for (const name of [...files.keys()].filter((path) => /^tagmanifest-[a-z0-9]+\.txt$/.test(path))) {
    const algorithm = name.slice('tagmanifest-'.length, -'.txt'.length);
    if (!ALGORITHMS[algorithm]) {
      problems.push(`${name}: unknown algorithm`);
      continue;
    }
    for (const [path, checksum] of readManifest(name, algorithm)) {
      if (path.startsWith('data/') || path.startsWith('tagmanifest-'))
        problems.push(`${name} lists ${path}, which is not a tag file it may list`);
      const bytes = files.get(path);
      if (!bytes) problems.push(`${name} lists ${path}, which is missing`);
      else if (digest(algorithm, bytes) !== checksum) problems.push(`${path} does not match ${name}`);
    }
  }

  // §2.2.2: bag-info.txt, labelled lines with continuations; Payload-Oxum "octets.streams".
  const info: [string, string][] = [];
  const infoText = text('bag-info.txt');
  if (infoText !== undefined) {
    for (const line of lines(infoText)) {
      if (/^[ \t]/.test(line) && info.length > 0) {
        (info.at(-1) as [string, string])[1] += ` ${line.trim()}`;
        continue;
      }
      const match = /^([^:\s][^:]*?):[ \t]*(.*)$/.exec(line);
      if (!match)
        problems.push(`bag-info.txt has a line that is not "label: value": ${JSON.stringify(line)}`);
      else info.push([match[1] as string, match[2] as string]);
    }
    const oxums = info.filter(([label]) => label === 'Payload-Oxum');
    if (oxums.length > 1) problems.push('Payload-Oxum appears more than once');
    const oxum = oxums[0]?.[1];
    if (oxum !== undefined) {
      const octets = payload.reduce((sum, path) => sum + (files.get(path) as Uint8Array).length, 0);
      if (oxum !== `${octets}.${payload.length}`)
        problems.push(`Payload-Oxum says ${oxum}, the payload is ${octets}.${payload.length}`);
    }
    const date = info.find(([label]) => label === 'Bagging-Date')?.[1];
    if (date !== undefined && !/^\d{4}-\d\d-\d\d$/.test(date))
      problems.push('Bagging-Date is not YYYY-MM-DD');
  }
  return { files, problems, info };
}
