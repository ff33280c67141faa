"""ShuffleNet V2 from torchvision: an example of a third-party cvstudio model plugin."""

from cvstudio import ModelSpec, Param, hookimpl


@hookimpl
def cvstudio_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="shufflenet-v2",
            title="ShuffleNet V2",
            year=2018,
            description=(
                "A network built for phones (Ma et al., 2018): most of its work is done by cheap 1×1 "
                "convolutions on groups of channels, and a 'channel shuffle' mixes the groups so that "
                "information still flows between them. Far fewer operations than ResNet for a similar "
                "accuracy on large datasets. Starts from random weights."
            ),
            factory="cvstudio_shufflenet.model:build",
            params=(
                Param("width", "choice", "0.5", choices=("0.5", "1.0"),
                      help="Channel multiplier: 1.0 has about four times the weights of 0.5."),
            ),
        )
    ]
