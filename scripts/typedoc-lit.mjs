// TypeDoc plugin: leave Lit's own members (inherited from, or overriding, LitElement and
// ReactiveElement: `styles`, `render`, `connectedCallback`, `createProperty`, …) out of the
// elements' pages, which then show only what Coffer adds.
import { Converter, ReflectionKind } from 'typedoc';

const LIT = /^(LitElement|ReactiveElement)\./;

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const { project } = context;
    const classes = project.getReflectionsByKind(ReflectionKind.Class);
    // Lit's member names, as seen through any class (also through CofferElement's subclasses).
    const litNames = new Set();
    for (const owner of classes) {
      for (const member of owner.children ?? []) {
        const from = member.inheritedFrom ?? member.overwrites;
        if (from && LIT.test(from.name)) litNames.add(member.name);
      }
    }
    for (const owner of classes) {
      for (const member of [...(owner.children ?? [])]) {
        if ((member.inheritedFrom ?? member.overwrites) && litNames.has(member.name)) {
          project.removeReflection(member);
        }
      }
    }
  });
}
