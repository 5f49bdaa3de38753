// The small XML reader of S3 answers (sync/xml.ts): the shapes S3 sends, and refusals.
import { describe, expect, it } from 'vitest';
import {
  escapeXml,
  parseXml,
  XmlSyntaxError,
  xmlChildren,
  xmlText,
} from '../../packages/core/src/sync/xml.js';

describe('parseXml', () => {
  it('reads a ListObjectsV2 answer: namespaces, declaration, repeated elements, entities', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Name>b</Name><IsTruncated>true</IsTruncated>' +
        '<Contents><Key>a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x1F600;</Key><ETag>&quot;x&quot;</ETag></Contents>' +
        '<Contents><Key>z</Key></Contents>' +
        '<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>' +
        '<NextContinuationToken>tok</NextContinuationToken><Empty/>' +
        '</ListBucketResult>',
    );
    expect(root.name).toBe('ListBucketResult');
    expect(xmlChildren(root, 'Contents').map((c) => xmlText(c, 'Key'))).toEqual([
      'a&b <c> "d" \'e\' é😀',
      'z',
    ]);
    expect(xmlText(xmlChildren(root, 'Contents')[0]!, 'ETag')).toBe('"x"');
    expect(xmlText(root, 'NextContinuationToken')).toBe('tok');
    expect(xmlText(root, 'Empty')).toBe('');
    expect(xmlText(root, 'Missing')).toBeUndefined();
  });

  it('reads CDATA, comments, prefixed names and single-quoted attributes', () => {
    const root = parseXml('<s3:Error a=\'1\' b="2"><!-- c --><s3:Code><![CDATA[<x>]]></s3:Code></s3:Error>');
    expect(root.name).toBe('Error');
    expect(xmlText(root, 'Code')).toBe('<x>');
  });

  it.each([
    ['<a><b></a>', /unexpected <\/a>/],
    ['<a>', /unclosed <a>/],
    ['<a></a><b></b>', /second root/],
    ['<a>&bogus;</a>', /unknown entity/],
    ['<a>& b</a>', /unterminated entity/],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', /DTDs are not accepted/],
    ['text', /outside the root/],
    ['', /no root element/],
    ['<a b=c></a>', /quoted attribute/],
  ])('refuses %s', (xml, message) => {
    expect(() => parseXml(xml)).toThrow(XmlSyntaxError);
    expect(() => parseXml(xml)).toThrow(message);
  });

  it('escapes text for XML', () => {
    expect(escapeXml(`"a" & <b> 'c'`)).toBe('&quot;a&quot; &amp; &lt;b&gt; &apos;c&apos;');
    expect(xmlText(parseXml(`<r><v>${escapeXml(`"a" & <b>`)}</v></r>`), 'v')).toBe(`"a" & <b>`);
  });
});
