/** One authentication challenge from a `WWW-Authenticate` header, e.g. `Bearer realm="...",service="..."`. */
export interface AuthChallenge {
  /** The scheme in lower case: `bearer`, `basic`, ... */
  scheme: string;
  /** The auth-params, keys in lower case, values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

/**
 * Parses a `WWW-Authenticate` header value (RFC 7235) into its challenges. Several challenges may share one header
 * (`Bearer realm="a", Basic realm="b"`); quoted values may contain commas and escaped quotes. Malformed trailing
 * input is ignored.
 */
export function parseChallenges(header: string | string[] | undefined): AuthChallenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((value) => parseChallenges(value));
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < header.length && /[\s,]/.test(header[pos]!)) pos++;
  };
  const readToken = (): string | undefined => {
    TOKEN.lastIndex = pos;
    const match = TOKEN.exec(header);
    if (!match) return undefined;
    pos = TOKEN.lastIndex;
    return match[0];
  };
  const readQuoted = (): string => {
    let value = '';
    pos++; // opening quote
    while (pos < header.length && header[pos] !== '"') {
      if (header[pos] === '\\' && pos + 1 < header.length) pos++;
      value += header[pos];
      pos++;
    }
    pos++; // closing quote
    return value;
  };
  let current: AuthChallenge | undefined;
  while (pos < header.length) {
    skipSpace();
    const token = readToken();
    if (token === undefined) break;
    let after = pos;
    while (after < header.length && header[after] === ' ') after++;
    if (header[after] === '=' && current !== undefined && header[after + 1] !== '=') {
      pos = after + 1;
      while (pos < header.length && header[pos] === ' ') pos++;
      const value = header[pos] === '"' ? readQuoted() : (readToken() ?? '');
      current.params[token.toLowerCase()] = value;
      continue;
    }
    if (header[after] === '=' && current !== undefined) {
      // token68 (e.g. base64 with padding) after a scheme: keep it as a param-less challenge
      pos = after;
      while (pos < header.length && header[pos] === '=') pos++;
      continue;
    }
    current = { scheme: token.toLowerCase(), params: {} };
    challenges.push(current);
  }
  return challenges;
}
