/**
 * The embedded annotation backend: today's synchronous SQLite
 * `AnnotationStore`, behind the asynchronous {@link AnnotationBackend}
 * interface. Every method delegates unchanged; a thrown error becomes a
 * rejected promise.
 */
import { AnnotationStore } from '../../store/annotations.js';
import type { AnnotationBackend } from '../types.js';

type Store = AnnotationStore;

/** {@link AnnotationBackend} over an open SQLite {@link AnnotationStore}. */
export class EmbeddedAnnotationBackend implements AnnotationBackend {
  readonly kind = 'embedded' as const;

  constructor(readonly store: Store) {}

  async create(...a: Parameters<Store['create']>) {
    return this.store.create(...a);
  }
  async get(...a: Parameters<Store['get']>) {
    return this.store.get(...a);
  }
  async update(...a: Parameters<Store['update']>) {
    return this.store.update(...a);
  }
  async merge(...a: Parameters<Store['merge']>) {
    return this.store.merge(...a);
  }
  async delete(...a: Parameters<Store['delete']>) {
    return this.store.delete(...a);
  }
  async list(...a: Parameters<Store['list']>) {
    return this.store.list(...a);
  }
  async listKeys(...a: Parameters<Store['listKeys']>) {
    return this.store.listKeys(...a);
  }
  async listPage(...a: Parameters<Store['listPage']>) {
    return this.store.listPage(...a);
  }
  async restore(...a: Parameters<Store['restore']>) {
    return this.store.restore(...a);
  }
  async knownDocuments() {
    return this.store.knownDocuments();
  }
  async reanchorDocument(...a: Parameters<Store['reanchorDocument']>) {
    return this.store.reanchorDocument(...a);
  }
  async orphanDocument(...a: Parameters<Store['orphanDocument']>) {
    return this.store.orphanDocument(...a);
  }
  async deleteByDocument(...a: Parameters<Store['deleteByDocument']>) {
    return this.store.deleteByDocument(...a);
  }
  async listTags(...a: Parameters<Store['listTags']>) {
    return this.store.listTags(...a);
  }
  async getTag(...a: Parameters<Store['getTag']>) {
    return this.store.getTag(...a);
  }
  async createTag(...a: Parameters<Store['createTag']>) {
    return this.store.createTag(...a);
  }
  async updateTag(...a: Parameters<Store['updateTag']>) {
    return this.store.updateTag(...a);
  }
  async deleteTag(...a: Parameters<Store['deleteTag']>) {
    return this.store.deleteTag(...a);
  }
  async close() {
    this.store.db.close();
  }
}

/** The backend of a store given either way: an open SQLite store is wrapped, a backend is used as it is. */
export function asAnnotationBackend(store: AnnotationStore | AnnotationBackend): AnnotationBackend {
  return store instanceof AnnotationStore ? new EmbeddedAnnotationBackend(store) : store;
}
