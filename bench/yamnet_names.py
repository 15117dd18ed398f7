#!/usr/bin/env python3
"""yamnet_names.py: per class, the share of files whose top-5 mean YAMNet
scores contain one of the class's AudioSet names (a sanity check of the
whole path on real recordings, for the issue's note; not a test).

    bench/yamnet_names.py [BIN] [DATA_DIR]   (defaults: build/ecosight, ../shared/data)
"""
import collections
import json
import os
import subprocess
import sys

NAMES = {
    'gun_shot': ['Gunshot, gunfire', 'Machine gun', 'Fusillade', 'Artillery fire', 'Cap gun',
                 'Explosion'],
    'dog_bark': ['Dog', 'Bark', 'Bow-wow'],
    'engine_idling': ['Engine', 'Idling', 'Vehicle', 'Motor vehicle (road)', 'Car'],
    'bird': ['Bird', 'Bird vocalization, bird call, bird song', 'Chirp, tweet', 'Animal',
             'Wild animals'],
    'cat': ['Cat', 'Meow', 'Domestic animals, pets', 'Animal'],
    'siren': ['Siren', 'Civil defense siren', 'Police car (siren)', 'Ambulance (siren)',
              'Fire engine, fire truck (siren)', 'Emergency vehicle'],
    'speech': ['Speech', 'Male speech, man speaking', 'Female speech, woman speaking',
               'Narration, monologue', 'Conversation'],
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    binp = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', 'build', 'ecosight')
    data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, '..', '..', 'shared', 'data')
    print('| class | files | top-5 has a class name | top-1 is a class name | most frequent top-1 |')
    print('| --- | --- | --- | --- | --- |')
    for group in ('extracted_audio', 'sanity'):
        gdir = os.path.join(data, group)
        for cls in sorted(os.listdir(gdir)):
            cdir = os.path.join(gdir, cls)
            files = sorted(os.listdir(cdir))
            hit5 = hit1 = 0
            top1 = collections.Counter()
            for f in files:
                out = subprocess.run([binp, '-q', 'yamnet', '--json', '--top', '5', '--threads', '2',
                                      os.path.join(cdir, f)], capture_output=True, text=True)
                if out.returncode != 0:
                    print(f'{cls}/{f}: {out.stderr.strip()}', file=sys.stderr)
                    continue
                top = [t['name'] for t in json.loads(out.stdout)['top']]
                top1[top[0]] += 1
                names = NAMES.get(cls)
                if names:
                    hit5 += any(t in names for t in top)
                    hit1 += top[0] in names
            common = ', '.join(f'{n} ({c})' for n, c in top1.most_common(3))
            if cls in NAMES:
                print(f'| {group}/{cls} | {len(files)} | {hit5 / len(files):.1%} | '
                      f'{hit1 / len(files):.1%} | {common} |')
            else:
                print(f'| {group}/{cls} | {len(files)} | (no single name set) | | {common} |')


if __name__ == '__main__':
    main()
