import { InitialSchema1763712000000 } from './1763712000000-initial-schema.js';
import { Clusters1763798400000 } from './1763798400000-clusters.js';

/** Every migration, oldest first; TypeORM runs the pending ones at start. */
export const MIGRATIONS = [InitialSchema1763712000000, Clusters1763798400000];
