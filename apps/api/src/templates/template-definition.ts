import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  ValidateNested,
  type ValidationError,
} from 'class-validator';
import { isQuantity } from '@devpocket/runtime';
import { parse as parseYaml } from 'yaml';
import { TEMPLATE_STATUSES, type TemplateStatus } from './template.entity.js';

/** DNS-1123 label: what a template name must be, since it names Kubernetes objects. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class ResourceQuantitiesDefinition {
  @IsString()
  cpu: string;
  @IsString()
  memory: string;
  @IsString()
  storage: string;
}

/** A template as written in `templates/*.yaml` (API.md `Template` without id). */
export class TemplateDefinition {
  @IsString()
  @Matches(DNS_LABEL, { message: 'name must be a DNS-1123 label (lower-case letters, digits and -)' })
  name: string;

  @IsString()
  @MinLength(1)
  @MaxLength(100)
  displayName: string;

  @IsOptional()
  @IsString()
  description: string = '';

  @IsString()
  @MinLength(1)
  @MaxLength(50)
  category: string;

  @IsOptional()
  @IsString({ each: true })
  tags: string[] = [];

  @IsString()
  @MinLength(1)
  @MaxLength(255)
  image: string;

  @IsInt()
  @Min(1)
  @Max(65535)
  defaultPort: number;

  @IsObject()
  @ValidateNested()
  @Type(() => ResourceQuantitiesDefinition)
  resources: ResourceQuantitiesDefinition;

  @IsOptional()
  @IsObject()
  environmentVariables: Record<string, string> = {};

  @IsOptional()
  @IsString({ each: true })
  startupCommands: string[] = [];

  @IsString()
  @MinLength(1)
  @MaxLength(32)
  version: string;

  @IsOptional()
  @IsIn(TEMPLATE_STATUSES)
  status: TemplateStatus = 'active';
}

function describeErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {})
      .filter(Boolean)
      .map((message) => `${path}: ${message}`);
    return [...own, ...describeErrors(error.children ?? [], path)];
  });
}

/**
 * Validates one parsed template document: the schema above, quantities in Kubernetes notation,
 * environment variable names and string values.
 * @returns the problems found, each `field: message`; empty when the template is valid
 */
export function validateTemplate(document: unknown): { template?: TemplateDefinition; problems: string[] } {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { problems: ['the document must be a mapping of template fields'] };
  }
  const template = plainToInstance(TemplateDefinition, document, { exposeDefaultValues: true });
  const problems = describeErrors(validateSync(template, { whitelist: true, forbidNonWhitelisted: true }));
  for (const key of ['cpu', 'memory', 'storage'] as const) {
    const value = template.resources?.[key];
    if (typeof value === 'string' && !isQuantity(value)) problems.push(`resources.${key}: "${value}" is not a Kubernetes quantity (e.g. 500m, 1Gi)`);
  }
  for (const [name, value] of Object.entries(template.environmentVariables ?? {})) {
    if (!ENV_NAME.test(name)) problems.push(`environmentVariables.${name}: not a valid variable name`);
    if (typeof value !== 'string') problems.push(`environmentVariables.${name}: the value must be a string`);
  }
  return problems.length ? { problems } : { template, problems };
}

/** A template file that could not be loaded. */
export class TemplateLoadError extends Error {
  override name = 'TemplateLoadError';
}

/**
 * Reads every `*.yaml` / `*.yml` file of `dir` (one template per file), in file-name order.
 * @throws TemplateLoadError naming the file and each problem (bad YAML, schema, duplicate name)
 */
export async function loadTemplateDirectory(dir: string): Promise<TemplateDefinition[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  } catch (error) {
    throw new TemplateLoadError(`cannot read the templates folder ${dir}: ${(error as Error).message}`);
  }
  const byName = new Map<string, string>();
  const templates: TemplateDefinition[] = [];
  for (const file of files) {
    let document: unknown;
    try {
      document = parseYaml(await readFile(join(dir, file), 'utf8'));
    } catch (error) {
      throw new TemplateLoadError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    const { template, problems } = validateTemplate(document);
    if (!template) throw new TemplateLoadError(`${file}: ${problems.join('; ')}`);
    const earlier = byName.get(template.name);
    if (earlier) throw new TemplateLoadError(`${file}: template name "${template.name}" is already used by ${earlier}`);
    byName.set(template.name, file);
    templates.push(template);
  }
  return templates;
}
