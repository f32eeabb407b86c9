/**
 * Target `record-text`: parseRecordText on mutated record lines. Oracle for accepted lines: the
 * documented inverse holds, parse(format(r)) equals r (TXT `[]` aside, which parse never yields).
 */
import { formatRecordText, parseRecordText } from '../../sidecar/src/core/record-text.ts';
import type { DnsRecord } from '../../sidecar/src/core/records.ts';
import { svcParamKeyCode } from '../../sidecar/src/core/svcb.ts';
import { recordTextSeeds } from '../corpus.ts';
import { ACCEPTED, FindingError, preview, type FuzzTarget } from '../harness.ts';
import { mutateText } from '../mutators.ts';

/**
 * A canonical JSON form of a record for equality checks: bytes as hex, SvcParams in key order
 * (the wire form sorts them; the text form keeps the order written and formats them sorted).
 */
export function recordKey(record: DnsRecord): string {
  const sorted = record.type === 'SVCB' || record.type === 'HTTPS'
    ? { ...record, params: [...record.params].sort((a, b) => svcParamKeyCode(a) - svcParamKeyCode(b)) }
    : record;
  return JSON.stringify(sorted, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

export function recordTextTarget(): FuzzTarget<string> {
  let corpus: string[] = [];
  return {
    name: 'record-text',
    about: 'parseRecordText(line) on mutated record lines (every type, SvcParams, generic \\# form); accepted lines must survive format → parse unchanged',
    allowedCodes: new Set(['INVALID_RECORD']), // record-text.ts: throws PkarrError('INVALID_RECORD')
    async setup() {
      corpus = recordTextSeeds();
    },
    generate(rng) {
      return mutateText(rng, rng.pick(corpus), corpus, 4000);
    },
    execute(line) {
      const record = parseRecordText(line);
      let again: DnsRecord;
      try {
        again = parseRecordText(formatRecordText(record));
      } catch (err) {
        throw new FindingError(`accepted line does not survive format → parse: ${(err as Error).message.slice(0, 200)}`);
      }
      if (recordKey(again) !== recordKey(record)) throw new FindingError(`format → parse changed the record: ${preview(recordKey(record))} → ${preview(recordKey(again))}`);
      return ACCEPTED;
    },
    show: (line) => preview(JSON.stringify(line)),
  };
}
