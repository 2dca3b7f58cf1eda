import os, sys, time, json, hashlib, torch
torch.set_num_threads(1)
from internvideo_core.recipes import videomae_synth as R
base = json.loads(sys.argv[1]); base["synth"] = tuple(tuple(x) if not isinstance(x[1], list) else (x[0], tuple(x[1])) for x in base.get("synth", ()))
fts = json.loads(sys.argv[2]); seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
mode = sys.argv[4] if len(sys.argv) > 4 else "both"
r = R.get_recipe("tutorial", **base)
dkey = hashlib.md5(json.dumps([r.render_size, r.clip_frames, r.synth, r.pretrain_parts, r.finetune_part, r.labels_per_class, seed], default=str).encode()).hexdigest()[:10]
dpath = f"/tmp/internvideo_experiments/data_{dkey}.pt"
if os.path.exists(dpath):
    data = R.SynthData(**torch.load(dpath))
else:
    data = R.load_synth_data(r, "tutorial", seed)
    torch.save(vars(data), dpath)
tag = sys.argv[5] if len(sys.argv) > 5 else ""
path = f"/tmp/internvideo_experiments/ckpt_{r.fingerprint()}_{seed}.safetensors"
if mode != "scratch" and not os.path.exists(path):
    t=time.perf_counter(); c=time.process_time()
    mae, h = R.pretrain_on_synthmotion("tutorial", seed, recipe=r, data=data)
    el = h['epoch_loss']
    print(f"{tag} pretrain wall {time.perf_counter()-t:.0f} cpu {time.process_time()-c:.0f} loss {' '.join(f'{v:.3f}' for v in el[::max(1,len(el)//10)])} {el[-1]:.3f}", flush=True)
    R.save_pretrained(mae, "tutorial", path, recipe=r)
for ft in fts:
    rr = r.replace(**ft)
    xav = f"/tmp/internvideo_experiments/xavier_{r.fingerprint()}_{seed}.safetensors"
    torch.manual_seed(seed); R.save_pretrained(R.build_pretrain_model(r), "tutorial", xav, recipe=r)
    inits = {"both": (path, None), "pre": (path,), "scratch": (None,), "ctl": (path, xav), "all": (path, xav, None)}[mode]
    for init in inits:
        t=time.perf_counter(); c=time.process_time()
        clf, hf, m = R.finetune_on_synthmotion(init, "tutorial", seed, recipe=rr, data=data)
        tr = R.evaluate_classifier(clf, data.train_videos, data.train_labels, rr)
        print(f"{tag}  {('XAV' if 'xavier' in init else 'PRE') if init else 'SCR'} {ft} cpu {time.process_time()-c:.0f} top1 {m['top1']:.1f} train {tr['top1']:.1f} loss {hf['epoch_loss'][-1]:.3f}", flush=True)
