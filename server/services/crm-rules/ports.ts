import type { CrmRulesSettings } from '../../contracts/crm-rules';
import type { CrmDirectory, CrmRulesKind } from '../../contracts/crm-settings';

/** Storage of the «Чаты» / «Оффлайн заявки» rules and the cached CRM directory (SQLite: server/storage/crm-rules-repository.ts). */
export interface CrmRulesRepository {
  get(memberId: string, kind: CrmRulesKind): { settings: CrmRulesSettings; updatedAt: string } | null;
  save(memberId: string, kind: CrmRulesKind, settings: CrmRulesSettings): void;
  /** Portals with this tab switched on. */
  enabledPortals(kind: CrmRulesKind): string[];
  getDirectory(memberId: string): CrmDirectory | null;
  saveDirectory(memberId: string, directory: CrmDirectory): void;
}
