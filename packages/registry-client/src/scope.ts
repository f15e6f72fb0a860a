/** What a request needs: `pull`, or `pull` and `push`. */
export type RepositoryAction = 'pull' | 'push';

/** A token scope for a repository, e.g. `repository:app:pull,push`. */
export function repositoryScope(repository: string, actions: readonly RepositoryAction[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/**
 * Splits scopes into single-action atoms (`repository:app:pull,push` → `repository:app:pull`, `repository:app:push`)
 * so that a token for more can serve a request for less.
 */
export function scopeAtoms(scopes: readonly string[]): Set<string> {
  const atoms = new Set<string>();
  for (const scope of scopes.flatMap((value) => value.split(' ')).filter((value) => value !== '')) {
    const last = scope.lastIndexOf(':');
    if (last <= 0) {
      atoms.add(scope);
      continue;
    }
    const resource = scope.slice(0, last);
    for (const action of scope.slice(last + 1).split(',')) if (action !== '') atoms.add(`${resource}:${action}`);
  }
  return atoms;
}

/** Joins atoms back into as few scopes as possible, in a stable order. */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, string[]>();
  for (const atom of scopeAtoms(scopes)) {
    const last = atom.lastIndexOf(':');
    const resource = last <= 0 ? atom : atom.slice(0, last);
    const action = last <= 0 ? '' : atom.slice(last + 1);
    const actions = byResource.get(resource) ?? [];
    if (action !== '' && !actions.includes(action)) actions.push(action);
    byResource.set(resource, actions);
  }
  return [...byResource.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([resource, actions]) => (actions.length === 0 ? resource : `${resource}:${actions.sort().join(',')}`));
}

/** Whether `granted` covers every atom of `wanted`. */
export function scopesCover(granted: ReadonlySet<string>, wanted: readonly string[]): boolean {
  for (const atom of scopeAtoms(wanted)) if (!granted.has(atom)) return false;
  return true;
}
