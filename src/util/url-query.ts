/**
 * PACS addresses as messages, logs and reports show them: without their query string. A query
 * carries patient identifiers (a QIDO-RS search `…/studies?PatientID=…&PatientBirthDate=…`, keys
 * typed into a dimse:// address), and these lines end up pasted into tickets. What names the study
 * or series stays: the path, with its StudyInstanceUID / SeriesInstanceUID, which are not patient
 * identifiers.
 */

/** Cuts the query off every http(s):// and dimse:// URL in a message, leaving `?…` to say there was one. */
export function withoutQueries(text: string): string {
  return text.replace(/((?:https?|dimse):\/\/[^\s?]*)\?[^\s:;,)'"]*/gi, '$1?…');
}

/** One address without its query string and fragment: `http://pacs/dicom-web/studies?PatientID=X` -> `http://pacs/dicom-web/studies`. */
export function withoutQuery(url: string): string {
  return url.replace(/[?#][\s\S]*$/, '');
}
