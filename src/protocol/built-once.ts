/**
 * A value built on first use, then kept: `const schema = builtOnce(() => z.object(…))`, then
 * `schema()` wherever the value is wanted. Every call returns the same value, built once.
 *
 * Why: a Lambda cold start runs every module's top level before the first event, so a zod schema
 * built there is paid for by every new container, whether or not its invocations ever use it
 * (docs/deploy.md, "Cold starts"). Built on first use, each costs the invocations that need it,
 * once per container. Identity matters too: the AsyncAPI generator names schemas by the object,
 * so a schema built inside another is always the one its own getter returns.
 */
export function builtOnce<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
