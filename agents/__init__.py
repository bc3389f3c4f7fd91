"""stable-baselines3 training and policies-as-controllers."""
