# The assigner rule every scale-normalized method shares (SNIP §6.1; ISN §3.3.1 keeps it), for the
# RPN and the R-CNN head: priors with IoU > 0.3 to an invalid GT are ignored (positives
# included), and priors of scale <= 64 px that contain more than half of an invalid GT are never
# trained as background (the IoU rule cannot fire for invalid GT below ~17 px with 32-px anchors,
# which would otherwise teach "small objects are background" at that scale).
invalid_gt_assigner = dict(
    type='ScaleAwareMaxIoUAssigner',
    invalid_iou_thr=0.3,
    invalid_iof_thr=0.5,
    small_prior_max_scale=64)
