# Copyright (c) mmfsar contributors. All rights reserved.
import copy

import pytest
import torch
import torchvision

from mmfsar.models import ResNetFrames


def test_equals_torchvision_resnet_per_frame_and_loads_a_local_file(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None).eval()
    torch.save(reference.state_dict(), tmp_path / 'r18.pth')
    backbone = ResNetFrames(depth=18, pretrained=str(tmp_path / 'r18.pth'))
    backbone.init_weights()
    backbone.eval()
    frames = torch.randn(2, 3, 3, 64, 64)
    with torch.no_grad():
        pooled = backbone(frames)
        trunk = torch.nn.Sequential(*list(reference.children())[:-1])
        expected = trunk(frames.flatten(0, 1)).flatten(1).view(2, 3, 512)
    torch.testing.assert_close(pooled, expected, rtol=1e-5, atol=1e-5)
    backbone.spatial = True
    with torch.no_grad():
        maps = backbone(frames)
    assert maps.shape == (2, 3, 512, 2, 2)
    torch.testing.assert_close(maps.mean(dim=(-2, -1)), pooled)


def test_resnet50_parameter_count_and_bad_pretrained():
    # The released baselines fine-tune the whole ResNet-50 without fc.
    backbone = ResNetFrames(depth=50)
    assert sum(p.numel() for p in backbone.parameters()) == 23508032
    assert backbone.out_channels == 2048
    with pytest.raises(FileNotFoundError, match='backbone.pretrained'):
        ResNetFrames(pretrained='IMAGENET_V9')


def test_frozen_stages_norm_eval_and_checkpointing():
    torch.manual_seed(0)
    backbone = ResNetFrames(depth=18, frozen_stages=1).train()
    assert not backbone.layer1[0].conv1.weight.requires_grad
    assert backbone.layer2[0].conv1.weight.requires_grad
    assert not backbone.bn1.training and backbone.layer2[0].bn1.training
    frames = torch.randn(1, 2, 3, 32, 32)
    cp = copy.deepcopy(backbone)
    cp.with_cp = True
    outs = []
    for net in (backbone, cp):
        out = net(frames)
        out.sum().backward()
        outs.append((out, net.layer3[0].conv1.weight.grad,
                     net.layer3[0].bn1.running_mean))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b)
    frozen = ResNetFrames(depth=18, norm_eval=True).train()
    assert not any(m.training for m in frozen.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))
