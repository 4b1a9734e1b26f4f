"""
PET files whose timing is not that of one static whole-body series, made with pydicom from the
ACRIN slice suyashkumar__dicom/testdata/1.dcm (F-18, 6586.2 s; injected 14:17:00, SeriesTime
15:23:16.921, DecayCorrection START, Bq/ml), and their SUVbw computed here from the DICOM
attributes alone (not with lowdose's code):

  dynamic/   a dynamic series (SeriesType DYNAMIC, NumberOfTimeSlices 3, NumberOfSlices 2): the
             same two positions at three time points (frames of 60, 120 and 300 s from the
             SeriesTime), each time point with its own FrameReferenceTime, ActualFrameDuration,
             AcquisitionTime and activity (RescaleSlope)
  enhanced/  one Enhanced PET Image Storage file (1.2.840.10008.5.1.4.1.1.130) of two frames,
             decay-corrected (DecayCorrected YES) to a Decay Correction DateTime 10 min after the
             SeriesTime, timing in its PET Frame Acquisition functional groups; it also carries the
             classic Units / DecayCorrection / Series and Acquisition times, as some converters write
  dynamic-late/  the same dynamic series with a SeriesTime of 15:40:00, after every frame (as on
             post-processed series): the dose is then decayed to the earliest AcquisitionTime
  midnight/  the slice injected at 23:17:00 and scanned 00:23:16.921 the next day, with a
             RadiopharmaceuticalStartTime and no RadiopharmaceuticalStartDateTime

SUVbw = pixel (Bq/ml) x weight (g) / (dose (Bq) x 2^(-(t_ref - t_injection) / half-life)), t_ref
being the time the pixels are decay-corrected to: the SeriesDate / SeriesTime for DecayCorrection
START (PS3.3 C.8.9.1: the series time is the reference of all its activity), the Decay Correction
DateTime (0018,9701) for Enhanced PET. expected.json holds per file set the factor and SUVmax.

Usage: /usr/bin/python3 test/dicom/data/make-pet-timing.py <corpus dir> <output dir>
"""
import copy
import datetime as dt
import json
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

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
        d = copy.deepcopy(src)
        d.SeriesInstanceUID = series_uid
        d.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-dynamic', str(t), str(s)])
        d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
        d.SeriesType = ['DYNAMIC', 'IMAGE']
        d.NumberOfSlices = 2
        d.NumberOfTimeSlices = 3
        d.ImageIndex = t * 2 + s + 1
        d.InstanceNumber = t * 2 + s + 1
        d.AcquisitionTime = tm(start)
        d.ActualFrameDuration = duration * 1000
        # Mid-frame time from the series start (ms): the frame's reference time.
        d.FrameReferenceTime = f'{(offset + duration / 2) * 1000:.1f}'
        d.ImagePositionPatient = [-342.11083849009, -528.74934994385, -278.5 - 3.27 * s]
        slope = slope0 * k * (1 + 0.1 * s)
        d.RescaleSlope = f'{slope:.6g}'
        slope = float(d.RescaleSlope)
        suv_max = max(suv_max, float((stored * slope + intercept0).max()) * f_dyn)
        d.save_as(os.path.join(out, 'dynamic', f't{t + 1}-s{s + 1}.dcm'), write_like_original=False)
    dynamic['timePoints'].append({'acquisitionTime': tm(start), 'suvMax': suv_max})
    offset += duration
expected['dynamic'] = dynamic

# --- dynamic-late: SeriesTime after every frame ---------------------------------------------
os.makedirs(os.path.join(out, 'dynamic-late'), exist_ok=True)
late_uid = generate_uid(entropy_srcs=['lowdose-pet-dynamic-late'])
for name in sorted(os.listdir(os.path.join(out, 'dynamic'))):
    d = pydicom.dcmread(os.path.join(out, 'dynamic', name))
    d.SeriesInstanceUID = late_uid
    d.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-dynamic-late', name])
    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
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

# --- enhanced: Enhanced PET Image Storage, 2 frames -----------------------------------------
os.makedirs(os.path.join(out, 'enhanced'), exist_ok=True)
e = Dataset()
for keyword in ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'PatientWeight', 'StudyInstanceUID', 'StudyDate', 'StudyTime',
                'Modality', 'SeriesDate', 'SeriesTime', 'AcquisitionDate', 'AcquisitionTime', 'FrameOfReferenceUID', 'Units', 'DecayCorrection',
                'CorrectedImage', 'Rows', 'Columns', 'SamplesPerPixel', 'PhotometricInterpretation', 'BitsAllocated', 'BitsStored', 'HighBit',
                'PixelRepresentation']:
    if keyword in src:
        setattr(e, keyword, getattr(src, keyword))
e.SOPClassUID = '1.2.840.10008.5.1.4.1.1.130'
e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-enhanced'])
e.SeriesInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-enhanced-series'])
e.InstanceNumber = 1
e.ImageType = ['ORIGINAL', 'PRIMARY']
e.NumberOfFrames = 2
e.AcquisitionDateTime = src.SeriesDate + src.SeriesTime
decay_reference = series_start + dt.timedelta(minutes=10)
e.DecayCorrected = 'YES'
e.AttenuationCorrected = 'YES'
e.DecayCorrectionDateTime = decay_reference.strftime('%Y%m%d%H%M%S.%f')
r = Dataset()
r.RadiopharmaceuticalStartDateTime = injection.strftime('%Y%m%d%H%M%S.%f')
r.RadionuclideTotalDose = drug.RadionuclideTotalDose
r.RadionuclideHalfLife = drug.RadionuclideHalfLife
e.RadiopharmaceuticalInformationSequence = Sequence([r])
shared = Dataset()
measures = Dataset()
measures.PixelSpacing = src.PixelSpacing
measures.SliceThickness = src.SliceThickness
shared.PixelMeasuresSequence = Sequence([measures])
orientation = Dataset()
orientation.ImageOrientationPatient = src.ImageOrientationPatient
shared.PlaneOrientationSequence = Sequence([orientation])
transform = Dataset()
transform.RescaleSlope = src.RescaleSlope
transform.RescaleIntercept = intercept0
transform.RescaleType = 'BQML'
shared.PixelValueTransformationSequence = Sequence([transform])
e.SharedFunctionalGroupsSequence = Sequence([shared])
frames = []
for i in range(2):
    f = Dataset()
    position = Dataset()
    position.ImagePositionPatient = [-342.11083849009, -528.74934994385, -278.5 - 3.27 * i]
    f.PlanePositionSequence = Sequence([position])
    acquisition = Dataset()
    acquisition.FrameAcquisitionDateTime = src.SeriesDate + src.SeriesTime
    acquisition.FrameReferenceDateTime = (series_start + dt.timedelta(seconds=150)).strftime('%Y%m%d%H%M%S.%f')
    acquisition.FrameAcquisitionDuration = 300000
    f.PETFrameAcquisitionSequence = Sequence([acquisition])
    frames.append(f)
e.PerFrameFunctionalGroupsSequence = Sequence(frames)
e.PixelData = np.concatenate([src.pixel_array.ravel(), src.pixel_array.ravel()]).astype(src.pixel_array.dtype).tobytes()
e.file_meta = pydicom.dataset.FileMetaDataset()
e.file_meta.MediaStorageSOPClassUID = e.SOPClassUID
e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
e.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
e.save_as(os.path.join(out, 'enhanced', 'enhanced.dcm'), write_like_original=False)
bq_max = float((stored * float(src.RescaleSlope) + intercept0).max())
expected['enhanced'] = {
    # What the pixels mean: decay-corrected to the Decay Correction DateTime.
    'factor': factor(decay_reference, injection),
    'suvMax': bq_max * factor(decay_reference, injection),
    # The dose decayed to the SeriesTime instead (what the classic START rule gives).
    'seriesTimeFactor': factor(series_start, injection),
    'seriesTimeSuvMax': bq_max * factor(series_start, injection),
    'bqmlMax': bq_max,
}

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
expected['midnight'] = {
    'injection': (injection + shift).strftime('%Y%m%d %H%M%S'),
    'seriesStart': scan.strftime('%Y%m%d %H%M%S.%f'),
    'factor': f_mid,
    'suvMax': bq_max * f_mid,
}

with open(os.path.join(out, 'expected.json'), 'w') as fh:
    json.dump(expected, fh, indent=2)
