/**
 * Livechat custom data → a message ATTACH (CIMMessageParamAttach::GetAttachByJson). The widget's
 * `setCustomData()` takes an array of attach blocks (USER, LINK, MESSAGE, GRID, IMAGE, FILE,
 * DELIMITER) or a plain string (→ one MESSAGE block); the blocks are concatenated and sent as the
 * CUSTOM_DATA JSON of imopenlines.widget.user.register. When the visitor's session starts, the
 * portal posts a system message "[B]Получены данные[/B]" carrying this attach into the operator's
 * chat (imopenlines Connector::addMessage).
 */
import { isRecord, phpString } from '../php';

export type AttachBlock = Record<string, unknown>;

export interface Attach {
  ID: number;
  BLOCKS: AttachBlock[];
  DESCRIPTION: string;
  COLOR: string;
}

const LIST_BLOCKS = ['USER', 'CHAT', 'LINK', 'IMAGE', 'FILE'];
const GRID_DISPLAY = ['BLOCK', 'LINE', 'ROW', 'COLUMN'];

function scalarsOnly(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (!isRecord(x) && !Array.isArray(x)) out[k] = phpString(x);
  return out;
}

function block(raw: unknown): AttachBlock | null {
  if (!isRecord(raw)) return null;
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'MESSAGE' && phpString(value) !== '') return { MESSAGE: phpString(value) };
    if (key === 'HTML' && phpString(value) !== '') return { HTML: phpString(value) };
    if (key === 'DELIMITER') return { DELIMITER: { SIZE: 200, COLOR: '#c2c2c2', ...scalarsOnly(value) } };
    if (LIST_BLOCKS.includes(key)) {
      const items = (Array.isArray(value) ? value : [value]).map(scalarsOnly).filter((x) => Object.keys(x).length > 0);
      if (items.length) return { [key]: items };
    }
    if (key === 'GRID' && Array.isArray(value)) {
      const rows = value.filter(isRecord).map((r) => {
        const row = scalarsOnly(r);
        return { ...row, DISPLAY: GRID_DISPLAY.includes(row.DISPLAY ?? '') ? row.DISPLAY : 'BLOCK' };
      });
      if (rows.length) return { GRID: rows };
    }
  }
  return null;
}

/** GetAttachByJson on the CUSTOM_DATA string; null when nothing usable is left (IsEmpty). */
export function attachFromJson(json: string, now: number): Attach | null {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return null;
  }
  const list = isRecord(data) && Array.isArray(data.BLOCKS) ? data.BLOCKS : Array.isArray(data) ? data : [data];
  const blocks = list.map(block).filter((b): b is AttachBlock => b !== null);
  if (blocks.length === 0) return null;
  return { ID: Math.floor(now / 1000), BLOCKS: blocks, DESCRIPTION: '', COLOR: '#df532d' };
}

/** widget.setCustomData(): an array of objects or a string; successive calls concatenate. */
export function widgetCustomData(previous: AttachBlock[], value: unknown): AttachBlock[] {
  if (Array.isArray(value)) return [...previous, ...value.filter(isRecord)];
  if (typeof value === 'string' && value !== '') return [...previous, { MESSAGE: value }];
  return previous;
}
