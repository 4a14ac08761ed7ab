/**
 * The exercises shipped with the lab, one JSON file each in ./data, read through the validator at
 * load time (a broken file fails every command and test that loads the catalogue, with its place).
 * To add one: write the file, add its import below, run `pbft-lab exercise run ID --sim`.
 */
import { CATALOGUE } from '../byzantine/catalogue.ts';
import { CLIENT_CATALOGUE } from '../byzantine/client-behaviours.ts';
import { EQUIVOCATION_COALITION } from '../byzantine/coalition.ts';
import normalCase from './data/normal-case.json' with { type: 'json' };
import silentBackup from './data/silent-backup.json' with { type: 'json' };
import silentPrimary from './data/silent-primary.json' with { type: 'json' };
import equivocatingPrimary from './data/equivocating-primary.json' with { type: 'json' };
import corruptReplies from './data/corrupt-replies.json' with { type: 'json' };
import slowPrimary from './data/slow-primary.json' with { type: 'json' };
import laggingReplica from './data/lagging-replica.json' with { type: 'json' };
import partitionHeal from './data/partition-heal.json' with { type: 'json' };
import byzantineClient from './data/byzantine-client.json' with { type: 'json' };
import colludingReplicas from './data/colluding-replicas.json' with { type: 'json' };
import { ExerciseError, parseExercise, type Exercise, type ExerciseVocabulary } from './schema.ts';

export const VOCABULARY: ExerciseVocabulary = {
  behaviours: [...CATALOGUE.map((b) => b.id), EQUIVOCATION_COALITION.id],
  clientBehaviours: CLIENT_CATALOGUE.map((b) => b.id),
};

const FILES: Record<string, unknown> = {
  'normal-case': normalCase,
  'silent-backup': silentBackup,
  'silent-primary': silentPrimary,
  'equivocating-primary': equivocatingPrimary,
  'corrupt-replies': corruptReplies,
  'slow-primary': slowPrimary,
  'lagging-replica': laggingReplica,
  'partition-heal': partitionHeal,
  'byzantine-client': byzantineClient,
  'colluding-replicas': colludingReplicas,
};

/** Every shipped exercise, in teaching order. */
export const EXERCISES: readonly Exercise[] = Object.entries(FILES).map(([name, json]) => {
  const exercise = parseExercise(json, VOCABULARY, `core/exercises/data/${name}.json`);
  if (exercise.id !== name)
    throw new ExerciseError(`core/exercises/data/${name}.json: id "${exercise.id}" is not the file's name`);
  return exercise;
});

export class UnknownExerciseError extends Error {
  override readonly name = 'UnknownExerciseError';
}

export function exerciseById(id: string): Exercise {
  const found = EXERCISES.find((e) => e.id === id);
  if (!found) throw new UnknownExerciseError(`no exercise "${id}" (known: ${EXERCISES.map((e) => e.id).join(', ')})`);
  return found;
}
