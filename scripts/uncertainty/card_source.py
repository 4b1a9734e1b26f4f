"""Which model card a study's "card" column comes from, named so that its recorded command reruns.

error-head.py writes the command that made its table into models/eval/. A card given as a file
outside the repository (a copy of an older card in /tmp) cannot be given again by whoever reruns
that command; a committed version can: `--card-rev REV` reads `git show REV:models/<model>.json`.
So a card outside the repository is recorded as the commit whose models/<model>.json has the same
bytes, and refused at once, before any work, when no commit has them; a card in the repository is
recorded by its path relative to it; a revision by its commit, not a moving name such as HEAD.
Standard library only (the tests run it with a plain python3).
"""
import os
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _git(*args):
    return subprocess.run(['git', *args], cwd=REPO, check=True, capture_output=True).stdout


def _committed(model, commit):
    return _git('show', f'{commit}:models/{model}.json')


def load_card(model, card=None, card_rev=None):
    """(the card's bytes, the flags that name it in a recorded command: '' for models/<model>.json)."""
    if card and card_rev:
        raise SystemExit('give --card or --card-rev, not both')
    if card_rev:
        commit = _git('rev-parse', '--short', f'{card_rev}^{{commit}}').decode().strip()
        return _committed(model, commit), f' --card-rev {commit}'
    if not card:
        with open(os.path.join(REPO, 'models', f'{model}.json'), 'rb') as f:
            return f.read(), ''
    with open(card, 'rb') as f:
        data = f.read()
    relative = os.path.relpath(os.path.realpath(card), os.path.realpath(REPO))
    if relative != '..' and not relative.startswith('..' + os.sep):
        return data, f' --card {relative}'
    for commit in _git('log', '--format=%h', '--', f'models/{model}.json').decode().split():
        if _committed(model, commit) == data:
            return data, f' --card-rev {commit}'
    raise SystemExit(f'--card {card}: outside the repository and no commit of models/{model}.json holds it, so the '
                     'recorded command could not be rerun: give --card-rev REV (git show REV:models/<model>.json) '
                     'or a card inside the repository')
