"""``embeddings``: the run's movie vectors for the TensorFlow Embedding Projector."""

from __future__ import annotations

from movierec.cli.common import emit, load_run


def add_parser(sub, common) -> None:
    p = sub.add_parser("embeddings", parents=[common],
                       help="write the movie vectors for the TensorFlow Embedding Projector")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for vectors.tsv and metadata.tsv (created if missing)")
    p.add_argument("--min-ratings", type=int, default=1,
                   help="only movies with at least this many training ratings (default 1)")


def run(args) -> int:
    from movierec.embeddings import write_projector_files

    found = load_run(args, args.run)
    vectors, metadata, n = write_projector_files(found, args.out, min_ratings=args.min_ratings)
    emit(args, {"run_id": found.run_id, "vectors": str(vectors), "metadata": str(metadata),
                "movies": n, "dimensions": int(found.model.item_embeddings().shape[1])},
         f"{n:,} movies of run {found.run_id}:\n  {vectors}\n  {metadata}\n"
         "load both at https://projector.tensorflow.org (Load, then choose the files)")
    return 0
