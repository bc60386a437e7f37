#!/usr/bin/env bash
# GRPO-style verl 0.9.1 run with g2r judge rewards. One flag switches the arm:
#   ARM=dense  bash examples/verl/run.sh   # token rewards from the judge + a per-token g2r estimator
#   ARM=sparse bash examples/verl/run.sh   # the judge's rubric reward on the last token + g2r_sparse (GRPO)
# Needs a GPU machine with vLLM (verl's rollout engine); see examples/verl/README.md. Extra
# arguments are passed on to verl (Hydra overrides), e.g. trainer.total_training_steps=50.
set -euo pipefail
ARM=${ARM:-dense}
DATA=${DATA:-data/g2r_world}               # python examples/verl/make_data.py --out $DATA
POLICY=${POLICY:?set POLICY to the policy model folder (HF format)}
JUDGE=${JUDGE:-external}                   # external | self (bundled world judges) | a judge model folder
JUDGE_PATH=${JUDGE_PATH:-$POLICY}          # a model folder for verl's reward-model server (unused by g2r; see README)
METHOD=${METHOD:-grad_x_input}             # attribution method of the dense arm
ESTIMATOR=${ESTIMATOR:-g2r_grad2reward}    # dense arm: g2r_grad2reward | g2r_per_position | g2r_additive
NGPUS=${NGPUS:-1}

case "$ARM" in
  dense)  EST=$ESTIMATOR; RMETHOD=$METHOD; RM_ENABLE=True ;;
  sparse) EST=g2r_sparse; RMETHOD=sparse;  RM_ENABLE=False ;;
  *) echo "ARM must be dense or sparse" >&2; exit 2 ;;
esac

python -m verl.trainer.main_ppo \
  algorithm.adv_estimator="$EST" \
  algorithm.use_kl_in_reward=False \
  data.train_files="$DATA/train.parquet" data.val_files="$DATA/val.parquet" \
  data.train_batch_size=32 data.max_prompt_length=256 data.max_response_length=128 \
  actor_rollout_ref.model.path="$POLICY" \
  actor_rollout_ref.actor.optim.lr=1e-6 \
  actor_rollout_ref.actor.ppo_mini_batch_size=16 \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8 \
  actor_rollout_ref.actor.use_kl_loss=True actor_rollout_ref.actor.kl_loss_coef=0.001 \
  actor_rollout_ref.rollout.name=vllm actor_rollout_ref.rollout.n=8 \
  actor_rollout_ref.rollout.tensor_model_parallel_size=1 \
  actor_rollout_ref.rollout.gpu_memory_utilization=0.4 \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 \
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=8 \
  reward.num_workers=1 \
  reward.reward_manager.source=importlib \
  reward.reward_manager.name=G2RRewardManager \
  reward.reward_manager.module.path=pkg://g2r_lens.integrations.verl \
  reward.custom_reward_function.path=pkg://g2r_lens.integrations.verl \
  reward.custom_reward_function.name=compute_score \
  reward.reward_model.enable=$RM_ENABLE \
  reward.reward_model.enable_resource_pool=False \
  reward.reward_model.model_path="$JUDGE_PATH" \
  reward.reward_model.rollout.name=vllm \
  reward.reward_model.rollout.tensor_model_parallel_size=1 \
  reward.reward_model.rollout.gpu_memory_utilization=0.1 \
  +reward.reward_kwargs.g2r.judge="$JUDGE" \
  +reward.reward_kwargs.g2r.method="$RMETHOD" \
  +reward.reward_kwargs.g2r.tau=1.0 \
  +reward.reward_kwargs.g2r.device=cuda \
  +reward.reward_kwargs.g2r.rubrics="[$DATA/train.parquet,$DATA/val.parquet]" \
  trainer.project_name=g2r_verl trainer.experiment_name="g2r-$ARM" \
  trainer.logger='["console"]' \
  trainer.n_gpus_per_node="$NGPUS" trainer.nnodes=1 \
  trainer.total_epochs=1 trainer.save_freq=-1 trainer.test_freq=10 \
  "$@"
