import { InitialSchema1763712000000 } from './1763712000000-initial-schema.js';
import { Clusters1763798400000 } from './1763798400000-clusters.js';
import { ApiKeys1763884800000 } from './1763884800000-api-keys.js';
import { DeviceAuthorizations1763884900000 } from './1763884900000-device-authorizations.js';
import { IdentitiesAndEmailTokens1763885000000 } from './1763885000000-identities-and-email-tokens.js';
import { AuditEvents1763885100000 } from './1763885100000-audit-events.js';
import { TerminalSessions1763971200000 } from './1763971200000-terminal-sessions.js';
import { ShareLinks1764057600000 } from './1764057600000-share-links.js';
import { EnvironmentsClusterIndex1764144000000 } from './1764144000000-environments-cluster-index.js';

/** Every migration, oldest first; TypeORM runs the pending ones at start. */
export const MIGRATIONS = [InitialSchema1763712000000, Clusters1763798400000, ApiKeys1763884800000, DeviceAuthorizations1763884900000, IdentitiesAndEmailTokens1763885000000, AuditEvents1763885100000, TerminalSessions1763971200000, ShareLinks1764057600000, EnvironmentsClusterIndex1764144000000];
