/**
 * Whether BigQuery can read a bucket's objects from a dataset's location. A query job runs in
 * one location and reads an external table (phasegate's staged NDJSON) only from a bucket in
 * the same place: "If your dataset is in a multi-region location, the Cloud Storage bucket
 * containing the data you're querying must be in … the same multi-region or in a location
 * that is contained within the multi-region", and a regional dataset reads a bucket in the
 * same region (cloud.google.com/bigquery/docs/locations, "Location considerations";
 * cloud.google.com/bigquery/docs/external-data-cloud-storage). Otherwise every commit fails
 * with `notFound`. GCS dual-regions are listed with their member regions
 * (cloud.google.com/storage/docs/locations#predefined).
 */

/** Regions contained in each multi-region or predefined dual-region, lowercase. */
const CONTAINS: Record<string, (region: string) => boolean> = {
  us: (r) => r.startsWith('us-') || r === 'nam4',
  // The EU multi-region covers member states' regions only: not London or Zurich.
  eu: (r) =>
    [
      'europe-central2',
      'europe-north1',
      'europe-north2',
      'europe-southwest1',
      'europe-west1',
      'europe-west3',
      'europe-west4',
      'europe-west8',
      'europe-west9',
      'europe-west10',
      'europe-west12',
      'eur4',
    ].includes(r),
  nam4: (r) => r === 'us-central1' || r === 'us-east1',
  eur4: (r) => r === 'europe-north1' || r === 'europe-west4',
  asia1: (r) => r === 'asia-northeast1' || r === 'asia-northeast2',
};

const DUAL_REGIONS: ReadonlySet<string> = new Set(['nam4', 'eur4', 'asia1']);

/** Whether a dataset in `datasetLocation` can read objects of a bucket in `bucketLocation`. */
export function colocated(datasetLocation: string, bucketLocation: string): boolean {
  const d = datasetLocation.trim().toLowerCase();
  const b = bucketLocation.trim().toLowerCase();
  if (d === b) return true;
  // A multi-region dataset reads a bucket in a region (or dual-region) inside it.
  if (CONTAINS[d]?.(b)) return true;
  // A regional dataset reads a dual-region bucket that includes its region.
  return DUAL_REGIONS.has(b) && CONTAINS[b]?.(d) === true;
}

/** Locations compare case-insensitively: the API answers `US` or `us`, `EUROPE-WEST1` or `europe-west1`. */
export function sameLocation(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
