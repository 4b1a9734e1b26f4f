"""
Enhanced PET Image Storage (1.2.840.10008.5.1.4.1.1.130) and Legacy Converted Enhanced PET
(1.2.840.10008.5.1.4.1.1.128.1) files made with pydicom from the ACRIN slice
suyashkumar__dicom/testdata/1.dcm (F-18, 6586.2 s, 178.34 MBq injected 14:17:00, SeriesTime
15:23:16.921, 69.7344 kg), each of two frames (the slice twice, frame 2 with its own Rescale Slope,
0.8 x frame 1's), and their SUVbw computed here from the DICOM attributes alone, not with lowdose's
code, as PS3.3 C.8.22 defines them:

  SUVbw = Bq/ml x weight (g) / (dose (MBq) x 10^6 x 2^(-(t_dc - t_injection) / half-life))

t_dc being the Decay Correction DateTime (0018,9701) of the Enhanced PET Corrections Module ("the
date and time to which all frames in this Image were decay corrected"), the dose that of the
Enhanced PET Isotope Module (in MBq), the units the Real World Value Mapping's (UCUM, CID 84).

  enhanced/             Decay Corrected YES, Decay Correction DateTime 10 min after the SeriesTime,
                        Real World Value Mapping "Bq/ml" per frame; it also carries the classic
                        Units BQML, DecayCorrection START and Series / Acquisition times, as some
                        converters write: decayed to the SeriesTime its SUVs would be 6.5 % low
  two-agents/           two radiopharmaceuticals (the F-18 of 14:17:00, and 150 MBq of F-18 at
                        15:00:00), frame 1 naming agent 1 and frame 2 agent 2 in its
                        Radiopharmaceutical Usage Sequence: a factor per frame
  suvbw-mapped/         Real World Value Mapping "{SUVbw}g/ml": SUVbw already, factor 1, no weight
  no-decay-datetime/    Decay Corrected YES, no Decay Correction DateTime        (refused)
  not-decay-corrected/  Decay Corrected NO                                       (refused)
  no-weight/            no PatientWeight                                         (refused)
  counts/               Real World Value Mapping "{counts}", no Units            (refused)
  dose-in-bq/           Radionuclide Total Dose written in Bq (178340011.6)      (refused)
  file-zone/            as enhanced/, Timezone Offset From UTC +0100, the Decay Correction DateTime
                        with its own +0100, the Radiopharmaceutical Start DateTime without one (in
                        the file's +0100, PS3.5 6.2): the same SUVbw as enhanced/
  no-file-zone/         as file-zone/ without Timezone Offset From UTC           (refused)
  no-file-zone-bare/    as no-file-zone/ without the classic DecayCorrection: its Decay Correction
                        DateTime is off its frames' clock and nothing else says the decay
                        reference (its derived series refused)
  classic-zoned/        the classic slice, Timezone Offset From UTC +0100, RadiopharmaceuticalStart
                        DateTime 13:17:00+0000 (its 14:17 +0100 in UTC): the classic SUVbw
  classic-no-file-zone/ as classic-zoned/ without Timezone Offset From UTC       (refused)
  zoned/                as enhanced/, its date-times with offsets: the Decay Correction DateTime and
                        the frames' in +0100, the Radiopharmaceutical Start DateTime the same
                        instant written in +0000 (13:17:00+0000): the same SUVbw as enhanced/
  legacy/               Legacy Converted Enhanced PET: the classic PET Series / Isotope attributes
                        (Units BQML, DecayCorrection START, dose in Bq) in the Unassigned Shared
                        Converted Attributes Sequence, each frame's AcquisitionTime, FrameReference
                        Time and ActualFrameDuration in its Unassigned Per-Frame one: decayed to
                        the SeriesTime (PS3.3 C.8.9.1.1.5, START)

  gated/                cardiac-gated: 2 positions x 4 gates, each frame's Cardiac Synchronization
                        functional group with its Nominal Cardiac Trigger Delay Time (0, 200, 400,
                        600 ms) and R-R Interval Time Nominal 800 ms, the module's R-R window
                        600-1000 ms (Cardiac Beat Rejection Technique RR_INTERVAL)
  respiratory/          respiratory-gated: 2 positions x 2 gates, a Respiratory Synchronization
                        functional group per frame (Nominal Percentage of Respiratory Phase 25 and
                        75 %) and no cardiac one, every gate over the same span
  respiratory-cardiac/  dual-gated: 2 positions x 2 respiratory gates (25, 75 %) x 2 cardiac trigger
                        delays (0, 400 ms of an 800 ms R-R interval)
  legacy-gated/         Legacy Converted, cardiac-gated: 2 positions x 4 gates, the converted Series
                        Type GATED, each frame's Trigger Time (0, 200, 400, 600 ms), Nominal Interval
                        800 ms, Beat Rejection Flag Y with R-R 600-1000 ms, as converted; no Frame
                        Time, Number of Time Slots 2 (there are 4) and each frame's Image Index its
                        frame number, as a careless conversion leaves them
  legacy-gated-untimed/ as legacy-gated/ without Trigger Time, Number of Time Slots 4 and each
                        frame's Image Index by C.8.9.4.1.9 ((slot - 1) x 2 + slice): the gates are
                        told by Image Index alone
  legacy-gated-unplaced/ as legacy-gated/ without Trigger Time: neither Trigger Time nor Image
                        Index tells the gates (refused)
  split/                one dynamic series in two files (same SeriesInstanceUID): each file one time
                        point (Frame Reference DateTime 150 s, then 450 s after the series start) at
                        the same 2 positions
  split-classic/        as split/, each file also carrying the classic Series Type DYNAMIC, Number of
                        Slices 2, Number of Time Slices 2 and Image Index 1 (file 1) / 3 (file 2) at
                        its top level, as some converters write: read as two time points
  split-gated-classic/  one cardiac-gated series in two files, each file one gate (trigger delay 0,
                        then 400 ms of an 800 ms R-R interval) at the same 2 positions, also carrying
                        the classic Series Type GATED, Number of Slices 2, Number of R-R Intervals 1,
                        Number of Time Slots 2, Image Index 1 / 3, Trigger Time and Frame Time 400 ms
                        at its top level: read as two gates
  split-classic-disagree/ split-classic/'s two time points in four one-frame files, time point 1's
                        files stating Number of Slices 2 and 3 (its time point refused when written)
  two-agents-split/     four frames at four positions, agents 1, 2, 1, 2 by position
  two-agents-respiratory/ eight frames: 2 positions x 2 respiratory gates (25, 75 %) x agents 1, 2,
                        each frame's stored pixels the slice's, halved (rounded) in the 75 % gate:
                        four classic series when written, each gate of each agent its own content

expected.json holds per set the factor and maximum SUVbw and Bq/ml of each frame.

Usage: /usr/bin/python3 test/dicom/data/make-enhanced-pet.py <corpus dir> <output dir>
"""
import copy
import datetime as dt
import json
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

corpus, out = sys.argv[1], sys.argv[2]
src = pydicom.dcmread(os.path.join(corpus, 'suyashkumar__dicom/testdata/1.dcm'))
drug = src.RadiopharmaceuticalInformationSequence[0]
weight_g = float(src.PatientWeight) * 1000
dose_bq = float(drug.RadionuclideTotalDose)
half_life = float(drug.RadionuclideHalfLife)
stored = src.pixel_array.astype(np.float64)
slope0 = float(src.RescaleSlope)
slopes = [slope0, slope0 * 0.8]
first_value, last_value = int(stored.min()), int(stored.max())


def when(da, tm):
    whole, _, frac = tm.partition('.')
    return dt.datetime.strptime(da + whole, '%Y%m%d%H%M%S') + dt.timedelta(microseconds=int((frac + '000000')[:6]))


def dt_text(t):
    return t.strftime('%Y%m%d%H%M%S.%f')


def suv_factor(reference, injection, dose):
    """weight (g) / (dose (Bq) decayed from the injection to the reference)."""
    elapsed = (reference - injection).total_seconds()
    assert elapsed >= 0
    return weight_g / (dose * 2 ** (-elapsed / half_life))


series_start = when(src.SeriesDate, src.SeriesTime)
injection = when(src.SeriesDate, drug.RadiopharmaceuticalStartTime)
decay_reference = series_start + dt.timedelta(minutes=10)
bqml_max = [float((stored * s).max()) for s in slopes]


def code(value, scheme, meaning):
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def mapping(units, slope):
    m = Dataset()
    m.MeasurementUnitsCodeSequence = Sequence([code(units, 'UCUM', units)])
    m.LUTExplanation = units
    m.LUTLabel = 'PET'
    vr = 'SS' if src.PixelRepresentation == 1 else 'US'
    m.add_new(0x00409216, vr, first_value)  # Real World Value First Value Mapped
    m.add_new(0x00409211, vr, last_value)  # Real World Value Last Value Mapped
    m.RealWorldValueIntercept = 0.0
    m.RealWorldValueSlope = slope
    return m


def agent(number, start, dose_mbq):
    r = Dataset()
    r.RadiopharmaceuticalAgentNumber = number
    r.RadionuclideCodeSequence = Sequence([code('C-111A1', 'SRT', '^18^Fluorine')])
    r.RadiopharmaceuticalStartDateTime = dt_text(start)
    r.RadionuclideTotalDose = f'{dose_mbq:.10g}'
    r.RadionuclideHalfLife = drug.RadionuclideHalfLife
    return r


def base(sop_class, entropy):
    e = Dataset()
    for keyword in ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'PatientWeight', 'StudyInstanceUID', 'StudyDate',
                    'StudyTime', 'Modality', 'SeriesDate', 'SeriesTime', 'FrameOfReferenceUID', 'Rows', 'Columns', 'SamplesPerPixel',
                    'PhotometricInterpretation', 'BitsAllocated', 'BitsStored', 'HighBit', 'PixelRepresentation']:
        if keyword in src:
            setattr(e, keyword, getattr(src, keyword))
    e.SOPClassUID = sop_class
    e.SOPInstanceUID = generate_uid(entropy_srcs=[entropy, 'instance'])
    e.SeriesInstanceUID = generate_uid(entropy_srcs=[entropy, 'series'])
    e.InstanceNumber = 1
    e.ImageType = ['ORIGINAL', 'PRIMARY', 'VOLUME', 'NONE']
    e.NumberOfFrames = 2
    e.AcquisitionDateTime = dt_text(series_start)
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = src.PixelSpacing
    measures.SliceThickness = src.SliceThickness
    shared.PixelMeasuresSequence = Sequence([measures])
    orientation = Dataset()
    orientation.ImageOrientationPatient = src.ImageOrientationPatient
    shared.PlaneOrientationSequence = Sequence([orientation])
    e.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for i in range(2):
        f = Dataset()
        position = Dataset()
        position.ImagePositionPatient = [-342.11083849009, -528.74934994385, -278.5 - 3.27 * i]
        f.PlanePositionSequence = Sequence([position])
        content = Dataset()
        content.FrameAcquisitionDateTime = dt_text(series_start)
        content.FrameReferenceDateTime = dt_text(series_start + dt.timedelta(seconds=150))
        content.FrameAcquisitionDuration = 300000.0
        content.StackID = '1'
        content.InStackPositionNumber = i + 1
        f.FrameContentSequence = Sequence([content])
        transform = Dataset()
        transform.RescaleSlope = f'{slopes[i]:.10g}'
        transform.RescaleIntercept = '0'
        transform.RescaleType = 'BQML'
        f.PixelValueTransformationSequence = Sequence([transform])
        frames.append(f)
    e.PerFrameFunctionalGroupsSequence = Sequence(frames)
    e.PixelData = np.concatenate([src.pixel_array.ravel(), src.pixel_array.ravel()]).astype(src.pixel_array.dtype).tobytes()
    e.file_meta = FileMetaDataset()
    e.file_meta.MediaStorageSOPClassUID = e.SOPClassUID
    e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
    e.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return e


def enhanced(entropy, units='Bq/ml'):
    e = base('1.2.840.10008.5.1.4.1.1.130', entropy)
    # Classic attributes some converters leave in: lowdose must not decay to this SeriesTime.
    e.Units = 'BQML'
    e.DecayCorrection = 'START'
    e.AcquisitionDate, e.AcquisitionTime = src.SeriesDate, src.SeriesTime
    e.CountsSource = 'EMISSION'
    e.DecayCorrected = 'YES'
    e.AttenuationCorrected = 'YES'
    e.DecayCorrectionDateTime = dt_text(decay_reference)
    e.RadiopharmaceuticalInformationSequence = Sequence([agent(1, injection, dose_bq / 1e6)])
    for i, f in enumerate(e.PerFrameFunctionalGroupsSequence):
        f.RealWorldValueMappingSequence = Sequence([mapping(units, slopes[i])])
        usage = Dataset()
        usage.RadiopharmaceuticalAgentNumber = 1
        f.RadiopharmaceuticalUsageSequence = Sequence([usage])
    return e


def save(e, name):
    os.makedirs(os.path.join(out, name), exist_ok=True)
    e.save_as(os.path.join(out, name, f'{name}.dcm'), write_like_original=False)


def frames_expected(factors):
    return {'factors': factors, 'suvMax': [m * f for m, f in zip(bqml_max, factors)], 'bqmlMax': bqml_max}


expected = {'source': 'suyashkumar__dicom/testdata/1.dcm', 'decayCorrectionDateTime': dt_text(decay_reference)}

e = enhanced('lowdose-enhanced-pet')
save(e, 'enhanced')
f = suv_factor(decay_reference, injection, dose_bq)
expected['enhanced'] = {**frames_expected([f, f]), 'seriesTimeFactor': suv_factor(series_start, injection, dose_bq)}

e = enhanced('lowdose-enhanced-pet-two-agents')
second_injection = when(src.SeriesDate, '150000')
second_dose_mbq = 150.0
e.RadiopharmaceuticalInformationSequence.append(agent(2, second_injection, second_dose_mbq))
e.PerFrameFunctionalGroupsSequence[1].RadiopharmaceuticalUsageSequence[0].RadiopharmaceuticalAgentNumber = 2
save(e, 'two-agents')
expected['twoAgents'] = frames_expected([f, suv_factor(decay_reference, second_injection, second_dose_mbq * 1e6)])

e = enhanced('lowdose-enhanced-pet-suvbw', units='{SUVbw}g/ml')
del e.PatientWeight
del e.Units
save(e, 'suvbw-mapped')
expected['suvbwMapped'] = frames_expected([1.0, 1.0])

e = enhanced('lowdose-enhanced-pet-no-decay-datetime')
del e.DecayCorrectionDateTime
save(e, 'no-decay-datetime')

e = enhanced('lowdose-enhanced-pet-not-decay-corrected')
e.DecayCorrected = 'NO'
del e.DecayCorrectionDateTime
save(e, 'not-decay-corrected')

e = enhanced('lowdose-enhanced-pet-no-weight')
del e.PatientWeight
save(e, 'no-weight')

e = enhanced('lowdose-enhanced-pet-counts', units='{counts}')
del e.Units
save(e, 'counts')

e = enhanced('lowdose-enhanced-pet-dose-in-bq')
e.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose = drug.RadionuclideTotalDose
save(e, 'dose-in-bq')

e = enhanced('lowdose-enhanced-pet-zoned')
e.DecayCorrectionDateTime = dt_text(decay_reference) + '+0100'
e.AcquisitionDateTime = dt_text(series_start) + '+0100'
e.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime = dt_text(injection - dt.timedelta(hours=1)) + '+0000'
for item in e.PerFrameFunctionalGroupsSequence:
    content = item.FrameContentSequence[0]
    content.FrameAcquisitionDateTime = content.FrameAcquisitionDateTime + '+0100'
    content.FrameReferenceDateTime = content.FrameReferenceDateTime + '+0100'
save(e, 'zoned')


def aware(text):
    return dt.datetime.strptime(text, '%Y%m%d%H%M%S.%f%z')


# The elapsed time between the two instants, each read with its own offset.
elapsed_zoned = (aware(e.DecayCorrectionDateTime) - aware(e.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime)).total_seconds()
zoned_factor = weight_g / (dose_bq * 2 ** (-elapsed_zoned / half_life))
expected['zoned'] = frames_expected([zoned_factor, zoned_factor])



def instant(text, file_zone):
    """A DT as an aware datetime (PS3.5 6.2): its own offset, else the file's Timezone Offset From UTC."""
    text = text.strip()
    own = text[-5:] if text[-5:-4] in '+-' else None
    base_text = text[:-5] if own else text
    whole, _, frac = base_text.partition('.')
    t = dt.datetime.strptime(whole, '%Y%m%d%H%M%S') + dt.timedelta(microseconds=int((frac + '000000')[:6]))
    return t.replace(tzinfo=dt.datetime.strptime(own or file_zone, '%z').tzinfo)


# The Decay Correction DateTime with its own offset, the injection without one: in the file's
# Timezone Offset From UTC (+0100), the same instant as in enhanced/. Read as UTC it would be an
# hour later, the SUV 2^(60 / 109.77) = 1.46 times too high.
e = enhanced('lowdose-enhanced-pet-file-zone')
e.TimezoneOffsetFromUTC = '+0100'
e.DecayCorrectionDateTime = dt_text(decay_reference) + '+0100'
save(e, 'file-zone')
elapsed = (instant(e.DecayCorrectionDateTime, '+0100') - instant(e.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime, '+0100')).total_seconds()
expected['fileZone'] = frames_expected([weight_g / (dose_bq * 2 ** (-elapsed / half_life))] * 2)
# The same with no Timezone Offset From UTC: the injection's zone is unknown (refused).
del e.TimezoneOffsetFromUTC
e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-no-file-zone', 'instance'])
e.SeriesInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-no-file-zone', 'series'])
e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
save(e, 'no-file-zone')
del e.DecayCorrection
e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-no-file-zone-bare', 'instance'])
e.SeriesInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-no-file-zone-bare', 'series'])
e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
save(e, 'no-file-zone-bare')

# --- Classic PET Image: a Radiopharmaceutical Start DateTime with its own offset ----------------
# classic-zoned/: the file in +0100 (its SeriesTime / AcquisitionTime), the injection 14:17 +0100
# written in UTC (13:17:00+0000); classic-no-file-zone/: the same without Timezone Offset From UTC.
c = copy.deepcopy(src)
c.TimezoneOffsetFromUTC = '+0100'
c.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime = dt_text(injection - dt.timedelta(hours=1)) + '+0000'
for name in ['classic-zoned', 'classic-no-file-zone']:
    c.SOPInstanceUID = generate_uid(entropy_srcs=[name, 'instance'])
    c.SeriesInstanceUID = generate_uid(entropy_srcs=[name, 'series'])
    c.file_meta.MediaStorageSOPInstanceUID = c.SOPInstanceUID
    if name == 'classic-no-file-zone':
        del c.TimezoneOffsetFromUTC
    save(c, name)
    if name == 'classic-zoned':
        elapsed = (instant(c.SeriesDate + c.SeriesTime, '+0100') - instant(c.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime, '+0100')).total_seconds()
        factor = weight_g / (dose_bq * 2 ** (-elapsed / half_life))
        expected['classicZoned'] = {'factor': factor, 'suvMax': float((stored * slope0).max()) * factor}

# --- Legacy Converted Enhanced PET ------------------------------------------------------------
e = base('1.2.840.10008.5.1.4.1.1.128.1', 'lowdose-legacy-pet')
converted = Dataset()
for keyword in ['Units', 'DecayCorrection', 'CorrectedImage', 'SeriesType', 'CountsSource', 'RadiopharmaceuticalInformationSequence']:
    setattr(converted, keyword, copy.deepcopy(getattr(src, keyword)))
e.SharedFunctionalGroupsSequence[0].UnassignedSharedConvertedAttributesSequence = Sequence([converted])
for i, frame in enumerate(e.PerFrameFunctionalGroupsSequence):
    own = Dataset()
    own.AcquisitionDate, own.AcquisitionTime = src.SeriesDate, src.SeriesTime
    own.FrameReferenceTime = '150000'
    own.ActualFrameDuration = 300000
    own.ImageIndex = i + 1
    frame.UnassignedPerFrameConvertedAttributesSequence = Sequence([own])
save(e, 'legacy')
legacy_factor = suv_factor(series_start, injection, dose_bq)
expected['legacy'] = frames_expected([legacy_factor, legacy_factor])

# --- Gated, respiratory, split over files, two agents over four frames -------------------------


def reframe(e, specs):
    """e with one frame per spec (z offset in slices, reference offset in s, agent), frame 1's groups as the template."""
    template = e.PerFrameFunctionalGroupsSequence[0]
    frames = []
    for spec in specs:
        f = copy.deepcopy(template)
        f.PlanePositionSequence[0].ImagePositionPatient = [-342.11083849009, -528.74934994385, -278.5 - 3.27 * spec['z']]
        content = f.FrameContentSequence[0]
        content.FrameAcquisitionDateTime = dt_text(series_start + dt.timedelta(seconds=spec.get('start', 0)))
        content.FrameReferenceDateTime = dt_text(series_start + dt.timedelta(seconds=spec.get('start', 0) + 150))
        content.InStackPositionNumber = spec['z'] + 1
        f.RadiopharmaceuticalUsageSequence[0].RadiopharmaceuticalAgentNumber = spec.get('agent', 1)
        if 'delay' in spec:
            sync = Dataset()
            sync.RRIntervalTimeNominal = 800.0
            # delay None: a Cardiac Synchronization group that states no trigger delay (nor phase).
            if spec['delay'] is not None:
                sync.NominalCardiacTriggerDelayTime = float(spec['delay'])
                sync.NominalPercentageOfCardiacPhase = spec['delay'] / 800 * 100
            f.CardiacSynchronizationSequence = Sequence([sync])
        if 'breath' in spec:
            sync = Dataset()
            sync.NominalPercentageOfRespiratoryPhase = spec['breath']
            f.RespiratorySynchronizationSequence = Sequence([sync])
        frames.append(f)
    e.PerFrameFunctionalGroupsSequence = Sequence(frames)
    e.NumberOfFrames = len(frames)
    e.PixelData = np.concatenate([src.pixel_array.ravel()] * len(frames)).astype(src.pixel_array.dtype).tobytes()
    return e


e = reframe(enhanced('lowdose-enhanced-pet-gated'), [{'z': z, 'delay': d} for z in (0, 1) for d in (0, 200, 400, 600)])
e.CardiacSynchronizationTechnique = 'PROSPECTIVE'
e.CardiacBeatRejectionTechnique = 'RR_INTERVAL'
e.LowRRValue, e.HighRRValue = 600, 1000
save(e, 'gated')

# gated-no-delay/: the same 2 positions x 4 cardiac gates, every frame's Cardiac Synchronization group
# without a Nominal Cardiac Trigger Delay Time: which gate each frame is cannot be told.
e = reframe(enhanced('lowdose-enhanced-pet-gated-no-delay'), [{'z': z, 'delay': None} for z in (0, 1) for d in range(4)])
e.CardiacSynchronizationTechnique = 'PROSPECTIVE'
save(e, 'gated-no-delay')

e = reframe(enhanced('lowdose-enhanced-pet-respiratory'), [{'z': z, 'breath': b} for z in (0, 1) for b in (25.0, 75.0)])
save(e, 'respiratory')

e = reframe(enhanced('lowdose-enhanced-pet-respiratory-cardiac'), [{'z': z, 'breath': b, 'delay': d} for z in (0, 1) for b in (25.0, 75.0) for d in (0, 400)])
e.CardiacSynchronizationTechnique = 'PROSPECTIVE'
save(e, 'respiratory-cardiac')

for k, start in enumerate((0, 300)):
    e = reframe(enhanced('lowdose-enhanced-pet-split'), [{'z': z, 'start': start} for z in (0, 1)])
    e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split', 'instance', str(k)])
    e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
    e.InstanceNumber = k + 1
    os.makedirs(os.path.join(out, 'split'), exist_ok=True)
    e.save_as(os.path.join(out, 'split', f'split-{k + 1}.dcm'), write_like_original=False)
    e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split-classic', 'instance', str(k)])
    e.SeriesInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split-classic', 'series'])
    e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
    e.SeriesType = ['DYNAMIC', 'IMAGE']
    e.NumberOfSlices = 2
    e.NumberOfTimeSlices = 2
    e.ImageIndex = 1 + 2 * k
    os.makedirs(os.path.join(out, 'split-classic'), exist_ok=True)
    e.save_as(os.path.join(out, 'split-classic', f'split-classic-{k + 1}.dcm'), write_like_original=False)

def legacy_gated(entropy, slots, trigger, image_index):
    """Legacy Converted, 2 positions x 4 gates (trigger delays 0, 200, 400, 600 ms), converted GATED."""
    e = base('1.2.840.10008.5.1.4.1.1.128.1', entropy)
    converted = Dataset()
    for keyword in ['Units', 'DecayCorrection', 'CorrectedImage', 'CountsSource', 'RadiopharmaceuticalInformationSequence']:
        setattr(converted, keyword, copy.deepcopy(getattr(src, keyword)))
    converted.SeriesType = ['GATED', 'IMAGE']
    converted.NumberOfSlices = 2
    converted.NumberOfRRIntervals = 1
    converted.NumberOfTimeSlots = slots
    e.SharedFunctionalGroupsSequence[0].UnassignedSharedConvertedAttributesSequence = Sequence([converted])
    template = e.PerFrameFunctionalGroupsSequence[0]
    legacy_frames = []
    for i, (z, d) in enumerate([(z, d) for z in (0, 1) for d in (0, 200, 400, 600)]):
        f = copy.deepcopy(template)
        f.PlanePositionSequence[0].ImagePositionPatient = [-342.11083849009, -528.74934994385, -278.5 - 3.27 * z]
        f.FrameContentSequence[0].InStackPositionNumber = z + 1
        own = Dataset()
        own.AcquisitionDate, own.AcquisitionTime = src.SeriesDate, src.SeriesTime
        own.FrameReferenceTime = '150000'
        own.ActualFrameDuration = 300000
        if trigger:
            own.TriggerTime = d
        own.NominalInterval = 800
        own.BeatRejectionFlag = 'Y'
        own.LowRRValue, own.HighRRValue = 600, 1000
        own.ImageIndex = image_index(i, z, d)
        f.UnassignedPerFrameConvertedAttributesSequence = Sequence([own])
        legacy_frames.append(f)
    e.PerFrameFunctionalGroupsSequence = Sequence(legacy_frames)
    e.NumberOfFrames = len(legacy_frames)
    e.PixelData = np.concatenate([src.pixel_array.ravel()] * len(legacy_frames)).astype(src.pixel_array.dtype).tobytes()
    return e


save(legacy_gated('lowdose-legacy-pet-gated', 2, True, lambda i, z, d: i + 1), 'legacy-gated')
# No Trigger Time; Image Index by C.8.9.4.1.9 (time slot d / 200 + 1 of 4, slice z + 1 of 2).
save(legacy_gated('lowdose-legacy-pet-gated-untimed', 4, False, lambda i, z, d: (d // 200) * 2 + z + 1), 'legacy-gated-untimed')
# No Trigger Time, and the careless Image Index of legacy-gated/: which gate each frame is cannot be told.
save(legacy_gated('lowdose-legacy-pet-gated-unplaced', 2, False, lambda i, z, d: i + 1), 'legacy-gated-unplaced')

# split-gated-classic/: one cardiac-gated series in two files, each file one gate (trigger delay 0,
# then 400 ms of an 800 ms R-R interval) at the same 2 positions, each also carrying the classic
# Series Type GATED, Number of Slices 2, Number of R-R Intervals 1, Number of Time Slots 2, Image
# Index 1 (file 1) / 3 (file 2), Trigger Time and Frame Time 400 ms at its top level: read as two gates.
for k, delay in enumerate((0, 400)):
    e = reframe(enhanced('lowdose-enhanced-pet-split-gated-classic'), [{'z': z, 'delay': delay} for z in (0, 1)])
    e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split-gated-classic', 'instance', str(k)])
    e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
    e.InstanceNumber = k + 1
    e.CardiacSynchronizationTechnique = 'PROSPECTIVE'
    e.SeriesType = ['GATED', 'IMAGE']
    e.NumberOfSlices = 2
    e.NumberOfRRIntervals = 1
    e.NumberOfTimeSlots = 2
    e.ImageIndex = 1 + 2 * k
    e.TriggerTime = delay
    e.FrameTime = 400
    os.makedirs(os.path.join(out, 'split-gated-classic'), exist_ok=True)
    e.save_as(os.path.join(out, 'split-gated-classic', f'split-gated-classic-{k + 1}.dcm'), write_like_original=False)

# split-classic-shared/: split-classic/'s two time points (classic DYNAMIC, Number of Slices 2, Number
# of Time Slices 2, Image Index 1 / 3), time point 2's file holding its position 1 twice (starts 300
# and 360 s): that time point is not one frame per position, so it has no place in the acquisition.
for k, specs in enumerate(([{'z': z, 'start': 0} for z in (0, 1)], [{'z': 0, 'start': 300}, {'z': 0, 'start': 360}])):
    e = reframe(enhanced('lowdose-enhanced-pet-split-classic-shared'), specs)
    e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split-classic-shared', 'instance', str(k)])
    e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
    e.SeriesInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split-classic-shared', 'series'])
    e.InstanceNumber = k + 1
    e.SeriesType = ['DYNAMIC', 'IMAGE']
    e.NumberOfSlices = 2
    e.NumberOfTimeSlices = 2
    e.ImageIndex = 1 + 2 * k
    os.makedirs(os.path.join(out, 'split-classic-shared'), exist_ok=True)
    e.save_as(os.path.join(out, 'split-classic-shared', f'split-classic-shared-{k + 1}.dcm'), write_like_original=False)

# split-gated-classic-disagree/: the split-gated-classic/ acquisition in 4 one-frame files (gate k
# position z: Image Index 2 k + z + 1), the files of gate 1 disagreeing on their classic Frame Time
# (400 ms, then 300 ms): one gate (one time slot) with two lengths.
for k, delay in enumerate((0, 400)):
    for z in (0, 1):
        name = f'gate{k + 1}-s{z + 1}'
        e = reframe(enhanced('lowdose-enhanced-pet-split-gated-classic-disagree'), [{'z': z, 'delay': delay}])
        e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split-gated-classic-disagree', 'instance', name])
        e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
        e.InstanceNumber = 2 * k + z + 1
        e.CardiacSynchronizationTechnique = 'PROSPECTIVE'
        e.SeriesType = ['GATED', 'IMAGE']
        e.NumberOfSlices = 2
        e.NumberOfRRIntervals = 1
        e.NumberOfTimeSlots = 2
        e.ImageIndex = 2 * k + z + 1
        e.TriggerTime = delay
        e.FrameTime = 300 if (k, z) == (0, 1) else 400
        os.makedirs(os.path.join(out, 'split-gated-classic-disagree'), exist_ok=True)
        e.save_as(os.path.join(out, 'split-gated-classic-disagree', f'{name}.dcm'), write_like_original=False)

# split-classic-disagree/: split-classic/'s two time points in 4 one-frame files (time point k
# position z: Image Index 2 k + z + 1), the files of time point 1 disagreeing on their classic
# Number of Slices (2, then 3): one time point numbered in two ways.
for k, start in enumerate((0, 300)):
    for z in (0, 1):
        name = f'time{k + 1}-s{z + 1}'
        e = reframe(enhanced('lowdose-enhanced-pet-split-classic-disagree'), [{'z': z, 'start': start}])
        e.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split-classic-disagree', 'instance', name])
        e.file_meta.MediaStorageSOPInstanceUID = e.SOPInstanceUID
        e.SeriesInstanceUID = generate_uid(entropy_srcs=['lowdose-enhanced-pet-split-classic-disagree', 'series'])
        e.InstanceNumber = 2 * k + z + 1
        e.SeriesType = ['DYNAMIC', 'IMAGE']
        e.NumberOfSlices = 3 if (k, z) == (0, 1) else 2
        e.NumberOfTimeSlices = 2
        e.ImageIndex = 2 * k + z + 1
        os.makedirs(os.path.join(out, 'split-classic-disagree'), exist_ok=True)
        e.save_as(os.path.join(out, 'split-classic-disagree', f'{name}.dcm'), write_like_original=False)

e = enhanced('lowdose-enhanced-pet-two-agents-split')
e.RadiopharmaceuticalInformationSequence.append(agent(2, second_injection, second_dose_mbq))
save(reframe(e, [{'z': z, 'agent': 1 + z % 2} for z in range(4)]), 'two-agents-split')

e = enhanced('lowdose-enhanced-pet-two-agents-respiratory')
e.RadiopharmaceuticalInformationSequence.append(agent(2, second_injection, second_dose_mbq))
specs = [{'z': z, 'breath': b, 'agent': a} for z in (0, 1) for b in (25.0, 75.0) for a in (1, 2)]
e = reframe(e, specs)
e.PixelData = np.concatenate([(src.pixel_array.astype(np.float64) * (1 if s['breath'] == 25.0 else 0.5)).round().ravel() for s in specs]).astype(src.pixel_array.dtype).tobytes()
save(e, 'two-agents-respiratory')

with open(os.path.join(out, 'expected.json'), 'w') as fh:
    json.dump(expected, fh, indent=2)
