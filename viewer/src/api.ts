/** The viewer's HTTP client: typed reads of the lowdose API (shapes in src/server/api-types.ts). */
import type {
  ApiError,
  ComparisonDetail,
  ComparisonMetrics,
  JobOptions,
  JobView,
  ModelsResponse,
  PacsInfo,
  PacsOpened,
  LowDoseSourceOpened,
  PacsSeriesList,
  PacsStudies,
  PacsStudyQuery,
  SeriesDetail,
  SliceMetrics,
  StudiesResponse,
  UploadResponse,
} from '../../src/server/api-types.js';

export type * from '../../src/server/api-types.js';

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function request<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

async function errorOf(response: Response): Promise<ApiRequestError> {
  try {
    const body = (await response.json()) as ApiError;
    return new ApiRequestError(response.status, body.code, body.message);
  } catch {
    return new ApiRequestError(response.status, 'E_INTERNAL', `${response.status} ${response.statusText}`);
  }
}

export const api = {
  studies: () => request<StudiesResponse>('/api/studies'),
  series: (id: string) => request<SeriesDetail>(`/api/series/${id}`),
  comparison: (id: string) => request<ComparisonDetail>(`/api/comparisons/${id}`),
  metrics: (id: string) => request<ComparisonMetrics>(`/api/comparisons/${id}/metrics`),
  sliceMetrics: (id: string, index: number) => request<SliceMetrics>(`/api/comparisons/${id}/metrics/slices/${index}`),
  models: () => request<ModelsResponse>('/api/models'),
  /**
   * `store`: send the result back to the `serve --dicomweb` / `--dimse` PACS (series opened from it only);
   * `allowIncomplete`: denoise a series the PACS gave short of its instances (refused otherwise).
   */
  startJob: (series: string[], options: JobOptions, flags: { store?: boolean; allowIncomplete?: boolean } = {}) =>
    request<JobView>('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ series, options, ...(flags.store ? { store: true } : {}), ...(flags.allowIncomplete ? { allowIncomplete: true } : {}) }),
    }),
  pacs: () => request<PacsInfo>('/api/pacs'),
  pacsStudies: (query: PacsStudyQuery) =>
    request<PacsStudies>(`/api/pacs/studies?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString()}`),
  pacsSeries: (study: string) => request<PacsSeriesList>(`/api/pacs/studies/${encodeURIComponent(study)}/series`),
  pacsOpen: (study: string, series: string) =>
    request<PacsOpened>(`/api/pacs/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/open`, { method: 'POST' }),
  /** The low-dose source of a PACS run's denoised series, pulled through this server's PACS (GET /api/series/:id `lowDoseSource`). */
  openLowDoseSource: (seriesId: string) => request<LowDoseSourceOpened>(`/api/series/${seriesId}/low-dose-source/open`, { method: 'POST' }),
  cancelJob: (id: string) => request<JobView>(`/api/jobs/${id}`, { method: 'DELETE' }),

  /** Multipart upload with progress (fetch cannot report upload progress; XHR can). */
  upload(files: readonly File[], onProgress: (fraction: number) => void): Promise<UploadResponse> {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const file of files) form.append('files', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/uploads');
      xhr.responseType = 'json';
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        const body = xhr.response as UploadResponse | ApiError | null;
        if (xhr.status === 200) resolve(body as UploadResponse);
        else reject(new ApiRequestError(xhr.status, (body as ApiError | null)?.code ?? 'E_INTERNAL', (body as ApiError | null)?.message ?? `upload failed (${xhr.status})`));
      };
      xhr.onerror = () => reject(new ApiRequestError(0, 'E_IO', 'the upload could not reach the server'));
      xhr.send(form);
    });
  },

  /** Follows a job's server-sent events until it ends. */
  watchJob(id: string, onUpdate: (job: JobView) => void): () => void {
    const source = new EventSource(`/api/jobs/${id}/events`);
    source.addEventListener('job', (event) => {
      const job = JSON.parse((event as MessageEvent<string>).data) as JobView;
      onUpdate(job);
      if (job.status === 'done' || job.status === 'failed' || job.status === 'cancelled') source.close();
    });
    return () => source.close();
  },
};
