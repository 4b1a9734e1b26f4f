"""
PET files whose timing is not that of one static whole-body series, made with pydicom from the
ACRIN slice suyashkumar__dicom/testdata/1.dcm (F-18, 6586.2 s; injected 14:17:00, SeriesTime
15:23:16.921, DecayCorrection START, Bq/ml), and their SUVbw computed here from the DICOM
attributes alone (not with lowdose's code):

  dynamic/   a dynamic series (SeriesType DYNAMIC, NumberOfTimeSlices 3, NumberOfSlices 2): the
             same two positions at three time points (frames of 60, 120 and 300 s from the
             SeriesTime), each time point with its own FrameReferenceTime, ActualFrameDuration,
             AcquisitionTime and activity (RescaleSlope)
  dynamic-late/  the same dynamic series with a SeriesTime of 15:40:00, after every frame (as on
             post-processed series): the dose is then decayed to the earliest AcquisitionTime
  dynamic-admin/  the dynamic series with DecayCorrection ADMIN and a scan started 10 s before
             the injection (SeriesTime 14:16:50), as dynamic scans start with the bolus
  gated/     a gated series (SeriesType GATED, NumberOfRRIntervals 2, NumberOfTimeSlots 3,
             NumberOfSlices 2): the same two positions in six gates, placed by ImageIndex, all with
             the SeriesTime as AcquisitionTime, each gate with its own activity (RescaleSlope)
  midnight/  the slice injected at 23:17:00 and scanned 00:23:16.921 the next day, with a
             RadiopharmaceuticalStartTime and no RadiopharmaceuticalStartDateTime

SUVbw = pixel (Bq/ml) x weight (g) / (dose (Bq) x 2^(-(t_ref - t_injection) / half-life)), t_ref
being the time the pixels are decay-corrected to: the SeriesDate / SeriesTime for DecayCorrection
START (PS3.3 C.8.9.1: the series time is the reference of all its activity); for ADMIN the
injection itself, so the dose enters undecayed (Enhanced PET: make-enhanced-pet.py). expected.json
holds per file set the factor and SUVmax.

Usage: /usr/bin/python3 test/dicom/data/make-pet-timing.py <corpus dir> <output dir>
"""
import copy
import datetime as dt
import json
import os
import sys

import numpy as np
import pydicom
from pydicom.uid import generate_uid

corpus, out = sys.argv[1], sys.argv[2]
SOURCE = os.path.join(corpus, 'suyashkumar__dicom/testdata/1.dcm')
src = pydicom.dcmread(SOURCE)
drug = src.RadiopharmaceuticalInformationSequence[0]
weight_g = float(src.PatientWeight) * 1000
dose = float(drug.RadionuclideTotalDose)
half_life = float(drug.RadionuclideHalfLife)
stored = src.pixel_array.astype(np.float64)
slope0 = float(src.RescaleSlope)
intercept0 = float(getattr(src, 'RescaleIntercept', 0))


def when(da, tm):
    whole, _, frac = tm.partition('.')
    return dt.datetime.strptime(da + whole, '%Y%m%d%H%M%S') + dt.timedelta(microseconds=int((frac + '000000')[:6]))


def tm(t):
    return t.strftime('%H%M%S.%f')


def factor(reference, injection):
    elapsed = (reference - injection).total_seconds()
    assert elapsed >= 0
    return weight_g / (dose * 2 ** (-elapsed / half_life))


def slice_copy(uid, entropy, s, k):
    """The source slice as slice s (0-based, 3.27 mm apart) of series uid, its RescaleSlope scaled by
    k x (1 + 0.1 s); with the maximum of its pixels (Bq/ml)."""
    d = copy.deepcopy(src)
    d.SeriesInstanceUID = uid
    d.SOPInstanceUID = generate_uid(entropy_srcs=entropy)
    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
    d.ImagePositionPatient = [-342.11083849009, -528.74934994385, -278.5 - 3.27 * s]
    d.RescaleSlope = f'{slope0 * k * (1 + 0.1 * s):.6g}'
    return d, float((stored * float(d.RescaleSlope) + intercept0).max())


def recopy(from_set, name, uid, entropy):
    """A file of another set as an instance of series uid."""
    d = pydicom.dcmread(os.path.join(out, from_set, name))
    d.SeriesInstanceUID = uid
    d.SOPInstanceUID = generate_uid(entropy_srcs=entropy)
    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
    return d


series_start = when(src.SeriesDate, src.SeriesTime)
injection = when(src.SeriesDate, drug.RadiopharmaceuticalStartTime)
expected = {'source': 'suyashkumar__dicom/testdata/1.dcm', 'halfLife': half_life}

# --- dynamic: 3 time points x 2 positions -------------------------------------------------
os.makedirs(os.path.join(out, 'dynamic'), exist_ok=True)
series_uid = generate_uid(entropy_srcs=['lowdose-pet-dynamic'])
durations = [60, 120, 300]  # s
activity = [1.0, 0.6, 0.3]  # each time point's RescaleSlope relative to the source's
f_dyn = factor(series_start, injection)
dynamic = {'factor': f_dyn, 'numberOfSlices': 2, 'numberOfTimeSlices': 3, 'timePoints': []}
offset = 0
for t, (duration, k) in enumerate(zip(durations, activity)):
    start = series_start + dt.timedelta(seconds=offset)
    suv_max = 0.0
    for s in range(2):
        d, bq_max = slice_copy(series_uid, ['lowdose-pet-dynamic', str(t), str(s)], s, k)
        d.SeriesType = ['DYNAMIC', 'IMAGE']
        d.NumberOfSlices = 2
        d.NumberOfTimeSlices = 3
        d.ImageIndex = t * 2 + s + 1
        d.InstanceNumber = t * 2 + s + 1
        d.AcquisitionTime = tm(start)
        d.ActualFrameDuration = duration * 1000
        # Mid-frame time from the series start (ms): the frame's reference time.
        d.FrameReferenceTime = f'{(offset + duration / 2) * 1000:.1f}'
        suv_max = max(suv_max, bq_max * f_dyn)
        d.save_as(os.path.join(out, 'dynamic', f't{t + 1}-s{s + 1}.dcm'), write_like_original=False)
    dynamic['timePoints'].append({'acquisitionTime': tm(start), 'suvMax': suv_max})
    offset += duration
expected['dynamic'] = dynamic

# --- dynamic-late: SeriesTime after every frame ---------------------------------------------
os.makedirs(os.path.join(out, 'dynamic-late'), exist_ok=True)
late_uid = generate_uid(entropy_srcs=['lowdose-pet-dynamic-late'])
for name in sorted(os.listdir(os.path.join(out, 'dynamic'))):
    d = recopy('dynamic', name, late_uid, ['lowdose-pet-dynamic-late', name])
    d.SeriesTime = '154000.000000'
    d.save_as(os.path.join(out, 'dynamic-late', name), write_like_original=False)
starts = [when(src.SeriesDate, tp['acquisitionTime']) for tp in dynamic['timePoints']]
expected['dynamicLate'] = {
    'seriesTime': '154000.000000',
    # Whole: the earliest AcquisitionTime is the first frame's start.
    'wholeFactor': factor(min(starts), injection),
    # Time points 2 and 3 alone: the second frame's start.
    'laterTimePointsFactor': factor(min(starts[1:]), injection),
}

# --- dynamic-admin: DecayCorrection ADMIN, the scan started 10 s before the injection -------
# Dynamic acquisitions start with the bolus: the scanner runs first, then the tracer is injected.
# ADMIN pixels are decay-corrected to the administration time, so the dose enters as injected,
# undecayed, and no scan time enters the SUVbw (PS3.3 PET Series module, Decay Correction (0054,1102)).
os.makedirs(os.path.join(out, 'dynamic-admin'), exist_ok=True)
admin_uid = generate_uid(entropy_srcs=['lowdose-pet-dynamic-admin'])
admin_start = injection - dt.timedelta(seconds=10)
f_admin = weight_g / dose
admin_max = [0.0] * len(durations)
for name in sorted(os.listdir(os.path.join(out, 'dynamic'))):
    d = recopy('dynamic', name, admin_uid, ['lowdose-pet-dynamic-admin', name])
    d.DecayCorrection = 'ADMIN'
    d.SeriesTime = tm(admin_start)
    # Every frame as many seconds after admin_start as after the SeriesTime in dynamic/.
    d.AcquisitionTime = tm(when(src.SeriesDate, d.AcquisitionTime) - (series_start - admin_start))
    assert 'RadiopharmaceuticalStartDateTime' not in d.RadiopharmaceuticalInformationSequence[0]
    t = (int(d.ImageIndex) - 1) // 2
    admin_max[t] = max(admin_max[t], float((stored * float(d.RescaleSlope) + intercept0).max()) * f_admin)
    d.save_as(os.path.join(out, 'dynamic-admin', name), write_like_original=False)
dynamic_admin = {'factor': f_admin, 'seriesTime': tm(admin_start), 'injectionTime': drug.RadiopharmaceuticalStartTime,
                 'timePoints': [{'suvMax': m} for m in admin_max]}
expected['dynamicAdmin'] = dynamic_admin

# --- gated: NumberOfRRIntervals 2 x NumberOfTimeSlots 3 x NumberOfSlices 2 -------------------
# PS3.3 C.8.9.4.1.9: ImageIndex = ((R-R Interval Index - 1) x NumberOfTimeSlots x NumberOfSlices)
# + ((Time Slot Index - 1) x NumberOfSlices) + Slice Index. Every gate has the same
# AcquisitionTime (C.8.9.4.1.4: it "shall not vary from Image to Image" in a GATED series), the
# start of the acquisition, and with START all are decay-corrected to the series start: one factor.
os.makedirs(os.path.join(out, 'gated'), exist_ok=True)
gated_uid = generate_uid(entropy_srcs=['lowdose-pet-gated'])
rr_intervals, time_slots, frame_time = 2, 3, 250
rr_limits = [(600, 1000), (1000, 1400)]  # ms: normal beats, then longer ones
gated = {'factor': f_dyn, 'numberOfSlices': 2, 'numberOfRRIntervals': rr_intervals, 'numberOfTimeSlots': time_slots, 'gates': []}
for r in range(rr_intervals):
    for g in range(time_slots):
        k = 1.0 - 0.15 * (r * time_slots + g)
        suv_max = 0.0
        indices = []
        for s in range(2):
            d, bq_max = slice_copy(gated_uid, ['lowdose-pet-gated', str(r), str(g), str(s)], s, k)
            d.SeriesType = ['GATED', 'IMAGE']
            d.NumberOfSlices = 2
            d.NumberOfRRIntervals = rr_intervals
            d.NumberOfTimeSlots = time_slots
            d.ImageIndex = r * time_slots * 2 + g * 2 + (s + 1)
            indices.append(d.ImageIndex)
            d.InstanceNumber = d.ImageIndex
            d.AcquisitionTime = src.SeriesTime
            d.ActualFrameDuration = 600000
            d.FrameReferenceTime = '300000.0'
            d.TriggerTime = g * frame_time
            d.FrameTime = frame_time
            d.LowRRValue, d.HighRRValue = rr_limits[r]
            suv_max = max(suv_max, bq_max * f_dyn)
            d.save_as(os.path.join(out, 'gated', f'rr{r + 1}-slot{g + 1}-s{s + 1}.dcm'), write_like_original=False)
        gated['gates'].append({'rrInterval': r + 1, 'timeSlot': g + 1, 'imageIndex': indices, 'suvMax': suv_max})
expected['gated'] = gated

# --- midnight: injected 23:17:00, scanned 00:23:16.921 the next day -----------------------
os.makedirs(os.path.join(out, 'midnight'), exist_ok=True)
shift = dt.timedelta(hours=9)
m = copy.deepcopy(src)
scan = series_start + shift
m.SeriesInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-midnight'])
m.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-midnight-instance'])
m.file_meta.MediaStorageSOPInstanceUID = m.SOPInstanceUID
for keyword in ['StudyDate', 'SeriesDate', 'AcquisitionDate', 'ContentDate']:
    if keyword in m:
        setattr(m, keyword, scan.strftime('%Y%m%d'))
for keyword in ['StudyTime', 'SeriesTime', 'AcquisitionTime', 'ContentTime']:
    if keyword in m:
        setattr(m, keyword, tm(when(src.SeriesDate, getattr(src, keyword)) + shift))
m.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime = tm(injection + shift)
assert 'RadiopharmaceuticalStartDateTime' not in m.RadiopharmaceuticalInformationSequence[0]
m.save_as(os.path.join(out, 'midnight', 'midnight.dcm'), write_like_original=False)
f_mid = factor(scan, injection + shift)
bq_max = float((stored * float(src.RescaleSlope) + intercept0).max())
expected['midnight'] = {
    'injection': (injection + shift).strftime('%Y%m%d %H%M%S'),
    'seriesStart': scan.strftime('%Y%m%d %H%M%S.%f'),
    'factor': f_mid,
    'suvMax': bq_max * f_mid,
}

with open(os.path.join(out, 'expected.json'), 'w') as fh:
    json.dump(expected, fh, indent=2)
