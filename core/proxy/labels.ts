// Host names of the proxy's URLs are made of DNS labels: `web.feature-login.shop.localhost`. Session,
// service and repository names are not labels (branches give `Feature_X`, `v1.2`, 80 characters),
// so each is turned into one here. A leaf module: the proxy program uses it too.
import { createHash } from 'node:crypto';

/** The longest label DNS allows (RFC 1035); resolvers and browsers refuse longer ones. */
const MAX_LABEL = 63;
const HASH_LENGTH = 6;

/**
 * A lowercase DNS label for a name: letters, digits and inner hyphens. A name that already is one
 * is kept as it is; any other gets a short hash of the original after what is left, so that two
 * names that clean up alike (`feat.x` and `feat_x`, `Web` and `web`) never share a host name.
 * Stable: the same name always gives the same label.
 */
export function hostLabel(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  if (cleaned === name && cleaned.length <= MAX_LABEL && cleaned.length > 0) return cleaned;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  const base = cleaned.slice(0, MAX_LABEL - HASH_LENGTH - 1).replace(/-+$/, '');
  return base ? `${base}-${hash}` : hash;
}

/**
 * The label of a repository on this machine: its folder name's label, unless another repository
 * holds that already (two clones called `app`), then with a suffix from its repository id.
 * `taken` are the labels other repositories hold.
 */
export function uniqueRepoLabel(folderName: string, repoId: string, taken: ReadonlySet<string>): string {
  const plain = hostLabel(folderName);
  if (!taken.has(plain)) return plain;
  // the id is random hex: its first characters are as good as a hash, and a person can match them
  // with `.git/sess/id`; a longer prefix only in the unlikely case the short one is taken too
  for (let length = 4; length <= repoId.length; length += 2) {
    const label = `${plain.slice(0, MAX_LABEL - length - 1).replace(/-+$/, '')}-${repoId.slice(0, length).toLowerCase()}`;
    if (!taken.has(label)) return label;
  }
  return `${plain.slice(0, MAX_LABEL - repoId.length - 6)}-${repoId.toLowerCase()}-${taken.size}`;
}
