"""The shipped catalogue: well-formed, shipped as package data, fit and recommendation."""

from __future__ import annotations

from importlib import resources

from assistant.models.catalogue import Machine, load_catalogue, this_machine, total_ram_bytes

GB = 1_000_000_000


def test_the_catalogue_is_package_data_with_well_formed_entries():
    assert resources.files("assistant.models").joinpath("catalogue.json").is_file()
    catalogue = load_catalogue()
    names = [e.name for e in catalogue.entries]
    assert 8 <= len(names) <= 12 and len(set(names)) == len(names)
    for entry in catalogue.entries:
        assert entry.repo.count("/") == 1 and entry.file.endswith(".gguf")
        assert entry.ram_bytes > entry.size_bytes > 100_000_000
        assert entry.context_length >= 8192 and entry.license
    params = sorted(e.params for e in catalogue.entries)
    assert params[0] < 1 * GB and 7 * GB < params[-1] <= 8.5 * GB
    assert any(e.gated for e in catalogue.entries)
    assert set(catalogue.recommend_order) <= set(names)
    assert set(catalogue.gpu_order) <= set(names)


def test_fit_and_recommendation_follow_the_machine():
    catalogue = load_catalogue()
    small = Machine(ram_bytes=4 * GB, gpu_offload=False, vram_bytes=None)
    big_model = catalogue.get("llama-3.1-8b")
    assert big_model is not None
    fit = catalogue.fit(big_model, small)
    assert not fit.fits and "4.0 GB of RAM" in fit.reason
    tiny = catalogue.get("qwen2.5-0.5b")
    assert tiny is not None and catalogue.fit(tiny, small).device == "cpu"
    picked = catalogue.recommended(small)
    assert picked is not None and not picked.gated
    assert catalogue.fit(picked, small).fits and picked.params <= catalogue.cpu_max_params
    roomy_cpu = catalogue.recommended(Machine(64 * GB, False, None))
    assert roomy_cpu is not None and roomy_cpu.params <= catalogue.cpu_max_params
    with_gpu = catalogue.recommended(Machine(64 * GB, True, 24 * 1024**3))
    assert with_gpu is not None and with_gpu.params > 7 * GB
    assert catalogue.recommended(Machine(256_000_000, False, None)) is None


def test_this_machine_reads_its_memory_without_asking_the_gpu():
    machine = this_machine(probe_gpu=False)
    assert machine.ram_bytes == total_ram_bytes() > 512_000_000
    assert machine.gpu_offload is False and machine.vram_bytes is None
