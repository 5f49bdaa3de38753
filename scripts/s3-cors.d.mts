/** Headers a browser must be allowed to read from the gateway's answers. */
export const EXPOSED_HEADERS: string[];

/** `<CORSConfiguration>` for any origin, the five methods sync sends, any header, `expose`. */
export function corsXml(expose?: readonly string[]): string;
