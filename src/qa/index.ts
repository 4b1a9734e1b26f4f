/** The QA gate on phantom fixtures (`lowdose qa`): see docs/qa.md. */
export { CONFIGURED_CHECKS, DEFAULT_CONFIG_PATH, DEFAULT_FIXTURES_DIR, loadQaConfig, parseConfigObject } from './config.js';
export type { Bounds, ConfiguredCheck, HuReference, QaConfig } from './config.js';
export { CHECK_FAMILIES, runChecks } from './checks/index.js';
export type { CheckFamily } from './checks/index.js';
export { circleAt, doseFolder, fixtureRealisations, pixelAt, readFixtureInfo, readStack, sliceIndexIn } from './fixtures.js';
export type { FixtureInfo, FixtureRealisation } from './fixtures.js';
export { formatSummary, formatTable, formatThreshold, formatValue, formatVerdict } from './format.js';
export { FIRM_MARGIN_SE, isFirm, limitMarginSe } from './margin.js';
export { judge } from './judge.js';
export { renderQaHtml, writeQaHtml } from './report-html.js';
export { DEFAULT_DOSES, jsonResult, QA_JSON_FILE, QA_REPORT_FILE, runQa, settingsTag } from './run.js';
export type { QaDenoiseSettings, QaOptions, QaResult } from './run.js';
export { realisationsOf, summarise } from './realisations.js';
export type { RealisationSummary } from './realisations.js';
export { linePlot } from './svg.js';
export { PHANTOM_NAMES } from './types.js';
export type { CaseCurves, CheckKind, Curve, FamilyResult, PhantomName, QaCase, QaCheck, QaRealisation, QaSlice, SliceStack } from './types.js';
