"""Grad-CAM: where in the image a network looked to score a class.

The gradient of the class score with respect to the last convolution layer's
feature maps says how much each map matters; the maps weighted that way and
summed show which places raised the score (Selvaraju et al., 2017). It works
for any model with a Conv2d layer; a model without one (e.g. an MLP) keeps no
map of places, and :class:`SaliencyUnavailable` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


class SaliencyUnavailable(ValueError):
    """The model has no convolution layer to take a Grad-CAM from; the message says why that matters."""


@dataclass(frozen=True)
class GradCam:
    """``heatmap`` (H, W) in [0, 1] at the image's size; ``probabilities`` the network's answer for the image."""

    layer: str
    target: int
    heatmap: np.ndarray
    probabilities: np.ndarray


def last_called(model: Any, probe: Any, module_type: type) -> tuple[str, Any] | None:
    """The last module of ``module_type`` that a forward pass on ``probe`` calls, with its name."""
    import torch

    names = {module: name for name, module in model.named_modules()}
    called: list[Any] = []
    handles = [m.register_forward_hook(lambda module, *_: called.append(module))
               for m in names if isinstance(m, module_type)]
    try:
        with torch.no_grad():
            model(probe)
    finally:
        for handle in handles:
            handle.remove()
    return (names[called[-1]], called[-1]) if called else None


def grad_cam(model: Any, image: Any, target: int | None = None) -> GradCam:
    """Grad-CAM of one normalised image (1, C, H, W) on the last convolution layer, for ``target``
    (default: the class the network predicts)."""
    import torch

    model.eval()
    found = last_called(model, image, torch.nn.Conv2d)
    if found is None:
        raise SaliencyUnavailable(
            f"{type(model).__name__} has no convolution layer, so it keeps no map of where things are in the "
            "image and Grad-CAM cannot show where it looked; choose a CNN (e.g. lenet5, vgg-small, resnet18)")
    name, layer = found
    kept: dict[str, Any] = {}

    def keep(module: Any, inputs: Any, output: Any) -> Any:
        kept["maps"] = output
        return output.clone()  # later in-place operations (e.g. ReLU(inplace=True)) change the copy, not these maps

    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits = model(image)
            chosen = int(logits[0].argmax()) if target is None else int(target)
            # the gradient of the score with respect to the maps only: the weights' gradients stay untouched
            (grads,) = torch.autograd.grad(logits[0, chosen], kept["maps"])
    finally:
        handle.remove()
    maps, grads = kept["maps"].detach()[0], grads[0]
    weights = grads.mean(dim=(1, 2), keepdim=True)
    cam = torch.relu((weights * maps).sum(0))[None, None]
    cam = torch.nn.functional.interpolate(cam, size=tuple(image.shape[-2:]), mode="bilinear", align_corners=False)
    heatmap = cam[0, 0].float().cpu().numpy()
    peak = heatmap.max()
    heatmap = heatmap / peak if peak > 0 else heatmap
    probabilities = torch.softmax(logits.detach()[0].float(), 0).cpu().numpy()
    return GradCam(name, chosen, heatmap, probabilities)
