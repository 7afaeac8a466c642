"""CHGNet's energy forward pass with the atom convolutions' first layer split by input block.

Each CHGNet ``AtomConv`` builds a message per directed bond from
``cat([atom[centre], bond[undirected], atom[neighbour]])`` (64 + 64 + 64 columns) and sends it
through the first ``Linear`` of a gated MLP (core and gate). A linear map of a concatenation
is the sum of the blocks' maps, and a row gather commutes with a linear map::

    Linear(cat(a[i], b[u], a[j])) = (a @ W_c)[i] + (b @ W_b)[u] + (a @ W_n)[j] + bias

so the two big matrix products over all directed bonds (~40 per atom with CHGNet's 6 A
cutoff) become products over the atoms and undirected bonds, plus gathers; core and gate
share one product. In float64 the two formulations agree to 1e-13 (exact up to round-off);
in CHGNet's float32 they agree to the same order as either is from the float64 result
(``tests/test_md_makers.py``). Everything else is CHGNet's own modules, in the order of
``CHGNet._compute`` (energy only: no force/stress/magmom heads).

:func:`supports_split` says whether a model has the layout this relies on (CHGNet 0.3.0 and
the r2SCAN weights do); the calculator falls back to ``CHGNet._compute`` otherwise.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _first_linear(mlp: nn.Module) -> tuple[nn.Linear, nn.Sequential] | None:
    """The first ``Linear`` of a CHGNet ``MLP`` and the layers after it (None if unexpected)."""
    layers = list(getattr(mlp, "layers", []))
    while layers and isinstance(layers[0], nn.Dropout) and layers[0].p == 0:
        layers.pop(0)
    if not layers or not isinstance(layers[0], nn.Linear):
        return None
    return layers[0], nn.Sequential(*layers[1:])


def supports_split(model) -> bool:
    """True when ``model`` is an eval-mode CHGNet with the atom-conv layout split below."""
    from chgnet.model.layers import AtomConv

    if model.training or not getattr(model, "mlp_first", False):
        return False
    for layer in model.atom_conv_layers:
        if type(layer) is not AtomConv:
            return False
        gated = layer.twoBody_atom
        core, gate = _first_linear(gated.mlp_core), _first_linear(gated.mlp_gate)
        if core is None or gate is None or core[0].in_features != gate[0].in_features:
            return False
        if (core[0].bias is None) != (gate[0].bias is None):
            return False
    return True


def split_atom_conv(layer, atom_feas: Tensor, bond_feas: Tensor, bond_weights: Tensor,
                    atom_graph: Tensor, directed2undirected: Tensor) -> Tensor:
    """``AtomConv.forward`` with the gated MLP's first layer split by input block (see module)."""
    from chgnet.model.functions import aggregate

    gated = layer.twoBody_atom
    core_linear, core_rest = _first_linear(gated.mlp_core)
    gate_linear, gate_rest = _first_linear(gated.mlp_gate)
    n_atom_fea, n_bond_fea = atom_feas.shape[1], bond_feas.shape[1]
    n_core = core_linear.out_features
    weight = torch.cat([core_linear.weight, gate_linear.weight], dim=0)
    bias = None if core_linear.bias is None else torch.cat([core_linear.bias, gate_linear.bias])
    linear = nn.functional.linear
    per_centre = linear(atom_feas, weight[:, :n_atom_fea])
    per_bond = linear(bond_feas, weight[:, n_atom_fea:n_atom_fea + n_bond_fea], bias)
    per_neighbour = linear(atom_feas, weight[:, n_atom_fea + n_bond_fea:])
    hidden = (
        torch.index_select(per_centre, 0, atom_graph[:, 0])
        + torch.index_select(per_bond, 0, directed2undirected)
        + torch.index_select(per_neighbour, 0, atom_graph[:, 1])
    )
    core = core_rest(hidden[:, :n_core])
    gate = gate_rest(hidden[:, n_core:])
    if gated.norm is None:
        messages = gated.activation(core) * gated.sigmoid(gate)
    else:
        messages = gated.activation(gated.bn1(core)) * gated.sigmoid(gated.bn2(gate))
    messages = messages * torch.index_select(bond_weights, 0, directed2undirected)
    new_atom_feas = aggregate(messages, atom_graph[:, 0], average=False, num_owner=len(atom_feas))
    if layer.use_mlp_out:
        new_atom_feas = layer.mlp_out(new_atom_feas)
    if layer.resnet:
        new_atom_feas = new_atom_feas + atom_feas
    if layer.atom_norm is not None:
        new_atom_feas = layer.atom_norm(new_atom_feas)
    return new_atom_feas


def energy_split(model, g) -> Tensor:
    """``CHGNet._compute(g)["e"]`` (energy per structure, per atom if intensive), split atom convs."""
    atoms_per_graph = torch.bincount(g.atom_owners)
    atom_feas = model.atom_embedding(g.atomic_numbers - 1)
    bond_feas = model.bond_embedding(g.bond_bases_ag)
    bond_weights_ag = model.bond_weights_ag(g.bond_bases_ag)
    bond_weights_bg = model.bond_weights_bg(g.bond_bases_bg)
    has_angles = len(g.angle_bases) != 0
    angle_feas = model.angle_embedding(g.angle_bases) if has_angles else None

    for atom_layer, bond_layer, angle_layer in zip(
        model.atom_conv_layers[:-1], model.bond_conv_layers, model.angle_layers, strict=False
    ):
        atom_feas = split_atom_conv(atom_layer, atom_feas, bond_feas, bond_weights_ag,
                                    g.batched_atom_graph, g.directed2undirected)
        if has_angles and bond_layer is not None:
            bond_feas = bond_layer(atom_feas=atom_feas, bond_feas=bond_feas, bond_weights=bond_weights_bg,
                                   angle_feas=angle_feas, bond_graph=g.batched_bond_graph)
            if angle_layer is not None:
                angle_feas = angle_layer(atom_feas=atom_feas, bond_feas=bond_feas, angle_feas=angle_feas,
                                         bond_graph=g.batched_bond_graph)
    atom_feas = split_atom_conv(model.atom_conv_layers[-1], atom_feas, bond_feas, bond_weights_ag,
                                g.batched_atom_graph, g.directed2undirected)
    if model.readout_norm is not None:
        atom_feas = model.readout_norm(atom_feas)
    energy = model.pooling(model.mlp(atom_feas), g.atom_owners).view(-1)
    if model.is_intensive:
        energy = energy / atoms_per_graph
    return energy
