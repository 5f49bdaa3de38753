/** A file of a picked or dropped folder, with the key it is stored under. */
export interface FolderFile {
  file: File;
  /** Its path from the folder chosen, that folder's name first: `raw/2026/img_001.tif`. */
  key: string;
}

/**
 * The files of a folder input (`webkitdirectory`), keyed by their relative paths.
 *
 * @example
 * ```ts
 * input.addEventListener('change', () => {
 *   const files = folderFilesFromInput(input.files ?? []); // [{ file, key: 'raw/2026/img_001.tif' }, ...]
 * });
 * ```
 */
export function folderFilesFromInput(files: Iterable<File>): FolderFile[] {
  return [...files].map((file) => ({ file, key: file.webkitRelativePath || file.name }));
}

/**
 * The dropped items as entries. Call it inside the `drop` handler: the browser empties
 * `dataTransfer` once the handler returns.
 *
 * @example
 * ```ts
 * zone.addEventListener('drop', async (event) => {
 *   event.preventDefault();
 *   const entries = droppedEntries(event.dataTransfer); // now, before any await
 *   const files = await filesOfEntries(entries);
 * });
 * ```
 */
export function droppedEntries(transfer: DataTransfer | null): FileSystemEntry[] {
  return [...(transfer?.items ?? [])]
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry())
    .filter((entry): entry is FileSystemEntry => entry !== null);
}

/**
 * Every file under `entries`, depth first, keyed by its path from the dropped item.
 *
 * @example
 * ```ts
 * const files = await filesOfEntries(droppedEntries(event.dataTransfer));
 * for (const { file, key } of files) await record.files!.set(key, file); // key: 'raw/2026/img_001.tif'
 * ```
 */
export async function filesOfEntries(entries: readonly FileSystemEntry[]): Promise<FolderFile[]> {
  const out: FolderFile[] = [];
  const visit = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject),
      );
      out.push({ file, key: entry.fullPath.replace(/^\/+/, '') });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries answers in batches (100 in Chromium) until it answers an empty one.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
          reader.readEntries(resolve, reject),
        );
        if (batch.length === 0) break;
        for (const child of batch) await visit(child);
      }
    }
  };
  for (const entry of entries) await visit(entry);
  return out;
}
