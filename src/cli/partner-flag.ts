// --partner ID, as translate and render take it: the compiled partner, or a usage error that says
// whether the partner does not exist (with a did-you-mean) or exists with configuration errors
// (printed, with the advice to run waybill lint).
import { didYouMean, formatDiagnostic, type Diagnostic } from '../mappings/diagnostics.js';
import type { CompiledPartner, PartnerRegistry } from '../mappings/registry.js';
import { CliError } from './cli-error.js';

export function requirePartner(registry: PartnerRegistry, diagnostics: readonly Diagnostic[], id: string): CompiledPartner {
  const partner = registry.get(id);
  if (partner) return partner;
  const broken = diagnostics.filter((d) => d.file.includes(`/${id}/`));
  if (broken.length) {
    for (const d of broken) process.stderr.write(`${formatDiagnostic(d)}\n`);
    throw new CliError('CLI_USAGE', `partner '${id}' has configuration errors (run waybill lint)`);
  }
  // Folders whose names start with '_' (partners/_template) are templates: never loaded as partners.
  if (id.startsWith('_')) {
    throw new CliError('CLI_USAGE', `'${id}' is a template (a partners folder whose name starts with '_' is never loaded as a partner): copy it to a folder of the partner's own id`);
  }
  const hint = didYouMean(id, registry.list().map((p) => p.id));
  throw new CliError('CLI_USAGE', `unknown partner '${id}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
}
