/**
 * Recording files of the emulated PBX. The report docs give the links
 * (data_api/report/get_calls_report: `call_records` → `…/system/media/talk/{communication_id}/{id}/`,
 * `wav_call_records` → `…/system/media/wav/{communication_id}/{id}/`, `full_record_file_link` →
 * `https://media.comagic.ru/{communication_id}/{id}`); the notification «Записанный разговор» carries
 * `file_link`. The links need no token ("можно прослушать вызвав запрос в браузере"). On the emulator
 * every form is served by the UIS origin and answers 404 until the file is ready.
 */
import express from 'express';
import type { World } from '../world';
import { pbxOf } from './pbx';

/** A small valid MP3: an ID3v2 tag and silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz). */
export function mp3Bytes(seconds: number): Buffer {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const frameLen = 417; // 144 * 128000 / 44100
  const frames = Math.max(1, Math.min(40, Math.round(seconds * 38.28)));
  const frame = Buffer.alloc(frameLen);
  frame[0] = 0xff;
  frame[1] = 0xfb;
  frame[2] = 0x90;
  frame[3] = 0x64;
  return Buffer.concat([id3, ...Array.from({ length: frames }, () => frame)]);
}

/** A small valid WAV (PCM 8 kHz mono 16-bit silence). */
export function wavBytes(seconds: number): Buffer {
  const samples = Math.max(1, Math.min(8000, Math.round(seconds * 800)));
  const data = Buffer.alloc(samples * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

export function recordingRouter(world: World): express.Router {
  const router = express.Router();
  const serve = (kind: 'mp3' | 'wav') => (req: express.Request, res: express.Response) => {
    const comm = Number(req.params.comm);
    const id = Number(req.params.rec);
    for (const account of world.accounts) {
      const rec = pbxOf(account).recordings.find((r) => r.id === id && r.communicationId === comm);
      if (!rec) continue;
      if (world.clock.now() < rec.readyAt) break;
      pbxOf(account).stats.recordingDownloads++;
      res.status(200).setHeader('Content-Type', kind === 'mp3' ? 'audio/mpeg' : 'audio/wav');
      res.end(kind === 'mp3' ? rec.bytes : wavBytes(rec.duration));
      return;
    }
    res.status(404).type('text/html').send('<html><body><h1>404 Not Found</h1></body></html>');
  };
  router.get(['/media/:comm/:rec', '/system/media/talk/:comm/:rec', '/system/media/talk/:comm/:rec/'], serve('mp3'));
  router.get(['/system/media/wav/:comm/:rec', '/system/media/wav/:comm/:rec/'], serve('wav'));
  return router;
}
