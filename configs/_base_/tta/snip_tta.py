# SNIP multi-scale inference (SNIP §6.1, Fig. 6; scales and ranges SNIP §7.1, stated in
# ../scale_norm/snip.py): ./pyramid_tta.py at 1400x2000, 800x1200 and 480x800 (short x long
# side), keeping per view only the detections whose scale sqrt(w*h) *in original-image pixels*
# lies in that scale's range. Each view carries its own range in its metainfo
# (PackScaleNormInputs keeps it) and ScaleNormTTAModel filters every view by its own range,
# whatever the order of the views.
_base_ = ['../scale_norm/snip.py', './pyramid_tta.py']

tta_pipeline = [
    _base_.pyramid_tta_pipeline[0],
    dict(_base_.pyramid_tta_pipeline[1],
         transforms=[_base_.snip_tta_views] + _base_.pyramid_tta_pipeline[1].transforms[1:]),
]
