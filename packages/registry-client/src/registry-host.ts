/** The host Docker Hub's API is served from, for references whose domain is `docker.io`. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** The key Docker uses for Docker Hub in `config.json` and with credential helpers. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** The host the registry API of `registry` is reached at (`docker.io` → `registry-1.docker.io`). */
export function apiHost(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_API_HOST : registry;
}

/** Whether `registry` names Docker Hub. */
export function isDockerHub(registry: string): boolean {
  return ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(registry);
}

/** The host without its port: `localhost:5000` → `localhost`, `[::1]:5000` → `::1`. */
export function hostName(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon === -1 || registry.indexOf(':') !== colon ? registry : registry.slice(0, colon);
}

/** Whether `registry` is on the loopback interface (`localhost`, `127.0.0.0/8`, `::1`), with or without a port. */
export function isLoopbackRegistry(registry: string): boolean {
  const name = hostName(registry).toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name) || name.endsWith('.localhost');
}

/**
 * Normalises a key of an auth file (`https://index.docker.io/v1/`, `http://localhost:5000`, `quay.io/org/repo`) to
 * `host[:port][/path]`, with Docker Hub's aliases mapped to `docker.io`.
 */
export function normalizeAuthKey(key: string): string {
  let value = key.trim().replace(/^[a-z]+:\/\//i, '');
  value = value.replace(/\/+$/, '');
  const slash = value.indexOf('/');
  let host = slash === -1 ? value : value.slice(0, slash);
  let path = slash === -1 ? '' : value.slice(slash);
  if (isDockerHub(host)) {
    host = 'docker.io';
    if (path === '/v1' || path === '/v2') path = '';
  } else if (/^\/v[12]$/.test(path)) {
    path = '';
  }
  return `${host.toLowerCase()}${path}`;
}
