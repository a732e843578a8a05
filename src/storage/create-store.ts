import type { Config } from '../config/load-config.ts';
import { GcsObjectStore } from './gcs-store.ts';
import { LocalObjectStore } from './local-store.ts';
import type { ObjectStore } from './object-store.ts';

export function createStore(config: Config): ObjectStore {
  if (config.store === 'gcs') return new GcsObjectStore({ bucket: config.gcsBucket ?? '' });
  return new LocalObjectStore(config.storeDir);
}
