// doctor over MCP: a report by default; repairs only when the agent asks with `fix`.
import { z } from 'zod';
import { defineTool } from '../tool.js';

export const doctor = defineTool({
  name: 'doctor',
  title: 'Check (and repair) sess state',
  description:
    "Find where sess's state and reality disagree (unfinished journals from an interrupted command, lost " +
    'worktrees, orphan processes or containers, stale port leases, services recorded as running that are not, ' +
    'a corrupt port ledger). Reports only, unless `fix` is true: then it repairs what it found, each session ' +
    'under its lock. `clean` is true when nothing is left wrong.',
  input: z.strictObject({
    fix: z.boolean().default(false).describe('repair what is found (stops orphan processes and containers, releases stale leases, ...)'),
  }),
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, ctx) {
    const { doctor } = await import('../../../core/doctor/doctor.js');
    const report = await doctor({ cwd: ctx.cwd, fix: args.fix, progress: ctx.progress });
    const fixed = report.findings.filter((f) => f.fixed).length;
    const summary =
      report.findings.length === 0
        ? 'nothing to repair: state and reality agree'
        : `${report.findings.length} finding(s)${args.fix ? `, ${fixed} fixed` : ' (call again with fix: true to repair)'}; ` +
          `${report.clean ? 'nothing is left wrong' : 'something is left wrong'}: ` +
          report.findings.map((f) => `${f.kind} ${f.subject}`).join(', ');
    return { document: report, summary };
  },
});
