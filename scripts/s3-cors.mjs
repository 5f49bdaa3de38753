/**
 * The bucket CORS rule sync needs from a browser, as the XML of S3's PutBucketCors: the same rule
 * as `S3_CORS_RULE` of `@coffer/core/sync`. Used by `npm run s3:dev`, the benchmarks and the
 * tests' bucket administration.
 */

/** Headers a browser must be allowed to read from the gateway's answers. */
export const EXPOSED_HEADERS = ['ETag', 'x-amz-version-id', 'x-amz-delete-marker', 'x-amz-meta-md5'];

/** `<CORSConfiguration>` for any origin, the five methods sync sends, any header, `expose`. */
export function corsXml(expose = EXPOSED_HEADERS) {
  return (
    '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>' +
    ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('') +
    '<AllowedHeader>*</AllowedHeader>' +
    expose.map((h) => `<ExposeHeader>${h}</ExposeHeader>`).join('') +
    '<MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>'
  );
}
