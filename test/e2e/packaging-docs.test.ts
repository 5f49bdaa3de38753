import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, type DeclarationReflection, type ProjectReflection, ReflectionKind } from 'typedoc';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The API reference (`npm run docs`): TypeDoc converts every entry point with no warning
 * (`treatWarningsAsErrors` and `validation.notDocumented` in typedoc.json), and every
 * exported class, function and constant carries an example.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

let app: Application;
let project: ProjectReflection | undefined;

beforeAll(async () => {
  app = await Application.bootstrapWithPlugins({ options: join(root, 'typedoc.json'), logLevel: 'Error' });
  project = await app.convert();
  if (project) app.validate(project);
});

const exportsOf = (project: ProjectReflection) =>
  (project.children ?? []).flatMap((module) =>
    (module.children ?? []).map((reflection) => ({ module: module.name, reflection })),
  );

const hasExample = (reflection: DeclarationReflection) =>
  [reflection.comment, ...(reflection.signatures ?? []).map((s) => s.comment)].some((comment) =>
    comment?.blockTags.some((tag) => tag.tag === '@example'),
  );

describe('API reference', () => {
  it('documents every entry point of both packages, without a warning', () => {
    expect(project?.children?.map((m) => m.name).sort()).toEqual([
      '@coffer/core',
      '@coffer/core/sw',
      '@coffer/core/sw/workbox',
      '@coffer/core/sync',
      '@coffer/core/worker',
      '@coffer/elements',
    ]);
    expect({ errors: app.logger.errorCount, warnings: app.logger.warningCount }).toEqual({
      errors: 0,
      warnings: 0,
    });
  });

  it('gives every exported class, function and constant an example', () => {
    const runtime = ReflectionKind.Class | ReflectionKind.Function | ReflectionKind.Variable;

    const checked = exportsOf(project!).filter(({ reflection }) => reflection.kindOf(runtime));
    const missing = checked
      .filter(({ reflection }) => reflection.kindOf(runtime) && !hasExample(reflection))
      .map(({ module, reflection }) => `${module}: ${reflection.name}`);

    expect(checked.length).toBeGreaterThan(90);
    expect(missing, 'exports without a TSDoc @example').toEqual([]);
  });

  it('includes the From Invenio page', () => {
    expect(project?.documents?.map((d) => d.name)).toContain('From Invenio');
  });
});
