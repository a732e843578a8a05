/**
 * The production path's prerequisites, each a line: credentials, the bucket, every dataset's
 * location against the configured one and against the bucket's — and, for one not there yet,
 * whether the first commit may create it — the permissions a commit uses, and — on Compute
 * Engine — the VM's access scopes. What the backend provides (`CloudProject`) answers each.
 */
import { TransientError } from '../errors/transient-error.ts';
import type { CloudProject } from '../warehouse/admin.ts';
import { type Check, fail, messageOf, ok, warn } from './check.ts';

/**
 * What a stager and a commit do to the bucket: upload (create), the warehouse reads (get),
 * cleanup (delete) and the dry run's raw-file count (list) — roles/storage.objectUser
 * (cloud.google.com/storage/docs/access-control/iam-roles) — and `storage.buckets.get`, which a
 * query over an external table needs besides `storage.objects.get`
 * (cloud.google.com/bigquery/docs/external-tables, "Permissions").
 */
export const BUCKET_PERMISSIONS = [
  'storage.objects.create',
  'storage.objects.get',
  'storage.objects.delete',
  'storage.objects.list',
  'storage.buckets.get',
] as const;

/** Scopes that let a VM's default service account write GCS and run BigQuery jobs (cloud.google.com/compute/docs/access/service-accounts#accesscopesiam). */
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const BIGQUERY_SCOPES = [CLOUD_PLATFORM, 'https://www.googleapis.com/auth/bigquery'];
const STORAGE_WRITE_SCOPES = [
  CLOUD_PLATFORM,
  'https://www.googleapis.com/auth/devstorage.read_write',
  'https://www.googleapis.com/auth/devstorage.full_control',
];

/**
 * What creating a dataset needs: `datasets.insert` "requires the bigquery.datasets.create
 * permission on the project" (cloud.google.com/bigquery/docs/reference/rest/v2/datasets/insert).
 */
export const DATASET_CREATE = 'bigquery.datasets.create';

export interface CloudTargets {
  /** The warehouse's cloud project, as its backend provides it (`AdminView.cloud`). */
  cloud: CloudProject;
  /** Datasets phasegate writes (prefix included). */
  datasets: readonly string[];
  /** Set when the configuration says we run on Compute Engine. */
  gce?: { metadataHost: string } | undefined;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * The default service account's scopes from the metadata server
 * (cloud.google.com/compute/docs/metadata/predefined-metadata-keys: instance/service-accounts/default/scopes).
 */
async function gceScopeCheck(host: string, get: typeof fetch): Promise<Check> {
  const url = `http://${host}/computeMetadata/v1/instance/service-accounts/default/scopes`;
  let scopes: string[];
  try {
    const res = await get(url, { headers: { 'Metadata-Flavor': 'Google' }, signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new TransientError(`HTTP ${res.status}`);
    scopes = (await res.text()).split(/\s+/).filter(Boolean);
  } catch (err) {
    return warn(
      'compute engine scopes',
      `metadata server at ${host} did not answer (${messageOf(err)})`,
      'unset PHASEGATE_ON_GCE if this is not a Compute Engine VM',
    );
  }
  const missing = [
    ...(scopes.some((s) => BIGQUERY_SCOPES.includes(s)) ? [] : ['bigquery']),
    ...(scopes.some((s) => STORAGE_WRITE_SCOPES.includes(s)) ? [] : ['storage read-write']),
  ];
  if (missing.length === 0) return ok('compute engine scopes', scopes.includes(CLOUD_PLATFORM) ? 'cloud-platform' : 'bigquery and storage read-write');
  return warn(
    'compute engine scopes',
    `the VM's service account lacks the ${missing.join(' and ')} scope${missing.length > 1 ? 's' : ''} (the default scopes give read-only storage): staging uploads and deletes${missing.includes('bigquery') ? ' and every BigQuery job' : ''} are refused whatever IAM grants`,
    'stop the VM, then gcloud compute instances set-service-account VM --scopes=cloud-platform (IAM roles then decide)',
  );
}

/**
 * A dataset that is not there yet: fine if the first commit may create it. Without
 * `bigquery.datasets.create` its `datasets.insert` answers 403 with the text quoted here, and
 * every commit to the dataset's tables fails the same way.
 */
async function missingDatasetCheck(
  subject: string,
  dataset: string,
  where: string,
  cloud: CloudProject,
  principal: string,
  answer: Promise<string[]>,
): Promise<Check> {
  const create = `bq mk --location=${where} --dataset ${cloud.projectId}:${dataset}`;
  let missing: string[];
  try {
    missing = await answer;
  } catch (err) {
    return warn(
      subject,
      `not there yet, and whether ${principal} may create it is unknown (projects.testIamPermissions: ${messageOf(err)})`,
      `create it now (${create}), or enable the Cloud Resource Manager API so the doctor can check ${DATASET_CREATE}`,
    );
  }
  if (missing.length === 0) return ok(subject, `not there yet: created in ${where} at the first commit (${principal} holds ${DATASET_CREATE})`);
  return fail(
    subject,
    `not there yet, and the first commit cannot create it: Access Denied: Project ${cloud.projectId}: User does not have ${DATASET_CREATE} permission in project ${cloud.projectId}`,
    `create it (${create}), or grant ${principal} roles/bigquery.user (or roles/bigquery.dataEditor) on the project`,
    true,
  );
}

export async function cloudChecks(t: CloudTargets): Promise<Check[]> {
  const { cloud } = t;
  const store = cloud.bucket;
  const checks: Check[] = [];
  let principal: string;
  try {
    const who = await cloud.principal();
    principal = who.email ?? 'these user credentials';
    checks.push(
      ok('credentials', `${who.email ? `service account ${who.email}` : 'user credentials'} (application default credentials); project ${cloud.projectId}`),
    );
  } catch (err) {
    checks.push(
      fail(
        'credentials',
        `no usable application default credentials: ${messageOf(err)}`,
        'gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=key.json, or attach a service account to the VM',
        true,
      ),
    );
    // Every later call would fail the same way.
    return checks;
  }
  if (t.gce) checks.push(await gceScopeCheck(t.gce.metadataHost, t.fetch ?? fetch));

  let bucketLocation: string | undefined;
  try {
    const bucket = await store.bucketLocation();
    if (!bucket)
      checks.push(
        fail(
          `bucket gs://${store.bucketName}`,
          'does not exist (or is not visible to these credentials)',
          'create it in the datasets’ location, or fix PHASEGATE_GCS_BUCKET',
          true,
        ),
      );
    else {
      bucketLocation = bucket.location;
      checks.push(ok(`bucket gs://${store.bucketName}`, `in ${bucket.location}${bucket.locationType ? ` (${bucket.locationType})` : ''}`));
    }
  } catch (err) {
    checks.push(
      fail(
        `bucket gs://${store.bucketName}`,
        `cannot be read: ${messageOf(err)}`,
        'grant roles/storage.objectUser (or storage.buckets.get) on the bucket',
        true,
      ),
    );
  }

  // Asked once, and only when some dataset is missing.
  let createAnswer: Promise<string[]> | undefined;
  for (const dataset of t.datasets) {
    const subject = `dataset ${dataset}`;
    let location: string | null;
    try {
      location = await cloud.datasetLocation(dataset);
    } catch (err) {
      checks.push(fail(subject, `cannot be read: ${messageOf(err)}`, 'grant roles/bigquery.dataEditor on the dataset (or project)', true));
      continue;
    }
    if (location !== null && !cloud.sameLocation(location, cloud.location)) {
      checks.push(
        fail(
          subject,
          `is in ${location}, but PHASEGATE_BQ_LOCATION is ${cloud.location}: jobs run there and cannot see it (notFound)`,
          `set PHASEGATE_BQ_LOCATION=${location}, or recreate the dataset in ${cloud.location}`,
          true,
        ),
      );
      continue;
    }
    const where = location ?? cloud.location;
    if (bucketLocation !== undefined && !cloud.colocated(where, bucketLocation)) {
      checks.push(
        fail(
          subject,
          `${location === null ? `will be created in ${where}` : `is in ${where}`} and bucket gs://${store.bucketName} is in ${bucketLocation}: BigQuery cannot read staged objects across locations, every commit fails with notFound`,
          `use a bucket in ${where} (PHASEGATE_GCS_BUCKET), or keep the datasets in ${bucketLocation} (PHASEGATE_BQ_LOCATION)`,
          true,
        ),
      );
      continue;
    }
    if (location !== null) {
      checks.push(ok(subject, `in ${location}, colocated with the bucket`));
      continue;
    }
    createAnswer ??= cloud.missingProjectPermissions([DATASET_CREATE]);
    checks.push(await missingDatasetCheck(subject, dataset, where, cloud, principal, createAnswer));
  }

  try {
    const missing = await store.missingPermissions(BUCKET_PERMISSIONS);
    checks.push(
      missing.length === 0
        ? ok(`bucket permissions`, BUCKET_PERMISSIONS.join(', '))
        : fail(
            'bucket permissions',
            `missing ${missing.join(', ')} on gs://${store.bucketName}`,
            'grant roles/storage.objectUser and roles/storage.legacyBucketReader (storage.buckets.get) on the bucket',
            true,
          ),
    );
  } catch (err) {
    checks.push(fail('bucket permissions', `testIamPermissions failed: ${messageOf(err)}`, 'grant roles/storage.objectUser on the bucket', true));
  }
  try {
    await cloud.dryRun();
    checks.push(ok('bigquery jobs', `a dry-run query job runs in ${cloud.location}`));
  } catch (err) {
    checks.push(fail('bigquery jobs', `a dry-run query job failed: ${messageOf(err)}`, 'grant roles/bigquery.jobUser on the project', true));
  }
  return checks;
}
