/**
 * The versions of one (bucket, key) as sync sees them: a DAG by parent links, and the head rule
 * every device applies the same way (docs/sync-protocol.md, "Files: versions as a DAG").
 *
 * - A **leaf** is a version that no other version of the set names as a parent. A version naming
 *   itself, or a parent the set does not hold (not pulled yet), changes nothing.
 * - The **head** is the best leaf: a file beats a delete marker (edit beats delete), then the
 *   greater `versionId` in UTF-16 code-unit order (JavaScript's `<` on strings). No clock and no
 *   local order takes part, so every device holding the same versions chooses the same head.
 * - Only a hostile journal can make a cycle with no leaf; then the best of all versions is head,
 *   so a key that has versions always has a head.
 *
 * @module
 */

/** One object version of one (bucket, key), as sync sees it. */
export interface VersionNode {
  /** The version's id, shared by every device. */
  versionId: string;
  /** The leaves of the key its device held before writing it. */
  parents: readonly string[];
  /** Whether it is a delete marker (no file). */
  marker: boolean;
}

/**
 * The versions no other version of the set names as a parent, in the order of `nodes`, each
 * `versionId` once (its first occurrence).
 *
 * @template T a version node, returned as given.
 * @example
 * ```ts
 * leaves([
 *   { versionId: 'a', parents: [], marker: false },
 *   { versionId: 'b', parents: ['a'], marker: false },
 *   { versionId: 'c', parents: ['a'], marker: false },
 * ]); // b and c: two devices wrote after a
 * ```
 */
export function leaves<T extends VersionNode>(nodes: readonly T[]): T[] {
  const named = new Set<string>();
  for (const node of nodes) {
    for (const parent of node.parents) if (parent !== node.versionId) named.add(parent);
  }
  const seen = new Set<string>();
  return nodes.filter((node) => {
    if (named.has(node.versionId) || seen.has(node.versionId)) return false;
    seen.add(node.versionId);
    return true;
  });
}

/**
 * Whether version `a` ranks above version `b` for head: a file beats a delete marker, then the
 * greater `versionId` (code-unit order) wins.
 */
export function ranksAbove(a: VersionNode, b: VersionNode): boolean {
  if (a.marker !== b.marker) return !a.marker;
  return a.versionId > b.versionId;
}

/**
 * The head by the protocol's rule: the best leaf (a file beats a delete marker, then the greater
 * `versionId` in code-unit order). `undefined` for no nodes. The result does not depend on the
 * order of `nodes`.
 *
 * @template T a version node, returned as given.
 * @example
 * ```ts
 * const a = { versionId: 'a', parents: [], marker: false };
 * const b = { versionId: 'b', parents: ['a'], marker: true };   // device 1 deleted the file
 * const c = { versionId: 'c', parents: ['a'], marker: false };  // device 2 overwrote it
 * chooseHead([a, b, c]); // c: edit beats delete
 * ```
 */
export function chooseHead<T extends VersionNode>(nodes: readonly T[]): T | undefined {
  const candidates = leaves(nodes);
  let best: T | undefined;
  for (const node of candidates.length > 0 ? candidates : nodes) {
    if (best === undefined || ranksAbove(node, best)) best = node;
  }
  return best;
}

/**
 * Parents of a new local version: the leaves among `before` (the versions of the key that
 * existed before it), as sorted, distinct ids so that the journal does not depend on the order
 * versions were read in.
 *
 * @example
 * ```ts
 * parentsFor([]); // []: the first version of a key
 * parentsFor([{ versionId: 'a', parents: [], marker: false }]); // ['a']
 * ```
 */
export function parentsFor(before: readonly VersionNode[]): string[] {
  return leaves(before)
    .map((node) => node.versionId)
    .sort(compareIds);
}

/** Code-unit order of two ids, for `Array.prototype.sort`: the order every device shares. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
