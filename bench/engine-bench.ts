/**
 * Runs the bench scene of a Godot engine test project (test/godot/projects/<name>/bench/) in the
 * web engine and returns the results it prints as one `BENCH <json>` line. The scene checks every
 * timed call and lists the ones that gave a wrong result under `failures`: any such run throws.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runGodot, type GodotRunOptions } from '../test/godot/harness/run-engine.ts';

export interface BenchSceneOptions extends GodotRunOptions {
  /** The project directory (its `project.godot` gets `run/main_scene` = `scene`). */
  project: string;
  /** `res://` path of the bench scene. */
  scene: string;
  /** The line the scene prints when it is done. */
  doneMarker: string;
}

export async function runBenchScene(options: BenchSceneOptions): Promise<Record<string, unknown>> {
  const { scene, ...run } = options;
  const base = await readFile(join(options.project, 'project.godot'), 'utf8');
  const project = `${base}\n[application]\nrun/main_scene="${scene}"\nrun/low_processor_mode=true\n`;
  const result = await runGodot({ ...run, files: { ...options.files, 'res://project.godot': project } });
  const line = result.stdout.find((l) => l.startsWith('BENCH '));
  if (line === undefined) throw new Error(`no BENCH line; stderr:\n${result.stderr.join('\n')}`);
  const results = JSON.parse(line.slice(6)) as Record<string, unknown>;
  const failures = results['failures'] as string[];
  if (failures.length > 0) throw new Error(`wrong results: ${failures.join(', ')}`);
  return results;
}
